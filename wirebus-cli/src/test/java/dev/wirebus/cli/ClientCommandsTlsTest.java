package dev.wirebus.cli;

import dev.wirebus.security.TestCertificates;
import dev.wirebus.security.TokenHash;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client commands against a broker with TLS on its TCP listener and token authentication, over
 * real sockets: {@code pub}, {@code sub}, {@code streams} and {@code stream delete} with {@code --tls},
 * {@code --ca} and a token from {@code --token}, {@code --token-file} or {@code WIREBUS_TOKEN}; a
 * client certificate as the principal (mutual TLS); a wrong token ends with the broker's AUTH_FAILED
 * reason and exit code 1; a command that does not trust the broker's CA fails naming the TLS cause.
 */
class ClientCommandsTlsTest extends BrokerFixture {
    private Broker secured;
    private String tls;
    private String ca;

    @BeforeEach
    void startSecuredBroker() throws Exception {
        Path certs = Files.createDirectories(dir.resolve("certs"));
        TestCertificates.ca(certs);
        TestCertificates.signed(certs, "server", "/CN=localhost");
        TestCertificates.signed(certs, "committer", "/O=wirebus tests/CN=committer");
        Path config = dir.resolve("secured.toml");
        Files.writeString(config, "[security.tls]\n"
                + "cert = \"" + certs.resolve("server.pem") + "\"\n"
                + "key = \"" + certs.resolve("server.key") + "\"\n"
                + "client-ca = \"" + certs.resolve("ca.pem") + "\"\n"
                + "[security.principals.writer]\n"
                + "tokens = [\"" + TokenHash.of("writer-token") + "\"]\n"
                + "publish = [\"orders\"]\nread = [\"orders\"]\n"
                + "[security.principals.committer]\n"
                + "tls-subjects = [\"CN=committer,O=wirebus tests\"]\npublish = [\"blocks\"]\n"
                + "[security.principals.observer]\n"
                + "tokens = [\"" + TokenHash.of("observer-token") + "\"]\nread = [\"orders\"]\n"
                + "[security.principals.operator]\n"
                + "tokens = [\"" + TokenHash.of("operator-token") + "\"]\nadmin = [\">\"]\n");
        secured = startBroker(BrokerConfig.builder().security(ConfigFile.read(config).securitySettings().config()));
        tls = "127.0.0.1:" + secured.tcpAddress().getPort();
        ca = certs.resolve("ca.pem").toString();
    }

    @Test
    void pubSubAndStreamsWorkOverTlsWithTheCaAndAToken() throws Exception {
        Cli.Result pub = Cli.run("pub", "orders", "a", "b", "--tls", tls, "--ca", ca, "--token", "writer-token");
        assertThat(pub.exitCode()).as(pub.err()).isZero();
        assertThat(pub.out()).isEqualTo("1\n2\n");

        Path tokenFile = dir.resolve("observer.token");
        Files.writeString(tokenFile, "observer-token\n");
        Cli.Result sub = Cli.run("sub", "orders", "--count", "2", "--tls", tls, "--ca", ca, "--token-file",
                tokenFile.toString());
        assertThat(sub.exitCode()).as(sub.err()).isZero();
        assertThat(sub.out()).isEqualTo("1\ta\n2\tb\n");

        Cli.Result streams = Cli.run(Map.of("WIREBUS_TOKEN", "operator-token"), "streams", "--tls", tls, "--ca", ca);
        assertThat(streams.exitCode()).as(streams.err()).isZero();
        assertThat(streams.out()).startsWith("STREAM\tFIRST\tLAST\tBYTES\tCONSUMERS\n").contains("\norders\t1\t2\t");

        Cli.Result deleted = Cli.run(Map.of("WIREBUS_TOKEN", "operator-token"), "stream", "delete", "orders",
                "--tls", tls, "--ca", ca);
        assertThat(deleted.exitCode()).as(deleted.err()).isZero();
        assertThat(secured.lastSequence("orders")).isZero();
    }

    @Test
    void aPermissionTheTokenLacksIsRefusedNamingOperationAndStream() {
        Cli.Result denied = Cli.run("pub", "orders", "x", "--tls", tls, "--ca", ca, "--token", "observer-token");

        assertThat(denied.exitCode()).isEqualTo(1);
        assertThat(denied.err()).contains("publish on 'orders' is not permitted for 'observer'");
    }

    @Test
    void aClientCertificateIsThePrincipalWithMutualTls() {
        Path certs = dir.resolve("certs");
        Cli.Result pub = Cli.run("pub", "blocks", "b1", "--tls", tls, "--ca", ca,
                "--cert", certs.resolve("committer.pem").toString(), "--key", certs.resolve("committer.key").toString());

        assertThat(pub.exitCode()).as(pub.err()).isZero();
        assertThat(pub.out()).isEqualTo("1\n");
        Cli.Result anonymous = Cli.run("pub", "blocks", "b2", "--tls", tls, "--ca", ca);
        assertThat(anonymous.exitCode()).isEqualTo(1);
        assertThat(anonymous.err()).contains("publish on 'blocks' is not permitted for 'anonymous'");
    }

    @Test
    void aWrongTokenFailsWithTheBrokersAuthFailedReason() {
        for (List<String> command : List.of(List.of("pub", "orders", "x"), List.of("sub", "orders", "--count", "1"),
                List.of("streams"))) {
            List<String> args = new java.util.ArrayList<>(command);
            args.addAll(List.of("--tls", tls, "--ca", ca, "--token", "guessed-secret-42"));

            Cli.Result r = Cli.run(args.toArray(String[]::new));

            assertThat(r.exitCode()).as(String.join(" ", command)).isEqualTo(1);
            assertThat(r.errLines()).as(String.join(" ", command)).singleElement().asString()
                    .startsWith("wirebus: authentication failed: AUTH_FAILED: ")
                    .contains("credential not recognised")
                    .doesNotContain("guessed-secret-42");
        }
    }

    @Test
    void withoutTheCaTheTlsHandshakeFailsNamingTheCause() {
        Cli.Result r = Cli.run("streams", "--tls", tls, "--token", "operator-token");

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .startsWith("wirebus: TLS handshake with tls://" + tls + " failed: ")
                .contains("unable to find valid certification path")
                .endsWith("; without --ca only the JDK's default CAs are trusted");
    }

    @Test
    void plainTcpToTheTlsListenerFailsAndSoDoesTlsToAPlainListener() {
        Cli.Result plain = Cli.run("streams", "--tcp", tls, "--token", "operator-token");
        assertThat(plain.exitCode()).isEqualTo(1);
        assertThat(plain.errLines()).singleElement().asString()
                .isEqualTo("wirebus: connection to tcp://" + tls + " closed during the handshake"
                        + " (a TLS listener? then use --tls HOST:PORT with --ca)");

        Cli.Result toPlain = Cli.run("streams", "--tls", tcp(), "--ca", ca);
        assertThat(toPlain.exitCode()).isEqualTo(1);
        assertThat(toPlain.errLines()).singleElement().asString().isEqualTo("wirebus: TLS handshake with tls://" + tcp()
                + " failed: the broker does not speak TLS there (a plain TCP listener? then use --tcp)");
    }

    @Test
    void tlsFilesWithoutTlsOrMissingAreUsageErrorsNamingTheOption() {
        Cli.Result caWithoutTls = Cli.run("pub", "orders", "x", "--uds", socket, "--ca", ca);
        assertThat(caWithoutTls.exitCode()).isEqualTo(WirebusCommand.USAGE);
        assertThat(caWithoutTls.err()).contains("--ca needs --tls HOST:PORT");

        Cli.Result missing = Cli.run("streams", "--tls", tls, "--ca", dir.resolve("nope.pem").toString());
        assertThat(missing.exitCode()).isEqualTo(WirebusCommand.USAGE);
        assertThat(missing.err()).contains("--ca " + dir.resolve("nope.pem") + " does not exist or is not readable");

        Cli.Result certWithoutKey = Cli.run("streams", "--tls", tls, "--ca", ca, "--cert", ca);
        assertThat(certWithoutKey.exitCode()).isEqualTo(WirebusCommand.USAGE);
        assertThat(certWithoutKey.err()).contains("--cert needs --key");

        Cli.Result both = Cli.run("streams", "--tls", tls, "--ca", ca, "--token", "t", "--token-file", ca);
        assertThat(both.exitCode()).isEqualTo(WirebusCommand.USAGE);
        assertThat(both.err()).contains("either --token or --token-file");

        Cli.Result two = Cli.run("streams", "--tls", tls, "--uds", socket);
        assertThat(two.exitCode()).isEqualTo(WirebusCommand.USAGE);
    }

    @Test
    void everyClientCommandHasTheSameConnectionOptions() {
        for (List<String> command : List.of(List.of("pub"), List.of("sub"), List.of("req"), List.of("respond"),
                List.of("consumers"), List.of("streams"), List.of("stream", "delete"), List.of("stream", "trim"),
                List.of("consumer", "delete"))) {
            List<String> args = new java.util.ArrayList<>(command);
            args.add("--help");

            Cli.Result help = Cli.run(args.toArray(String[]::new));

            assertThat(help.exitCode()).isZero();
            assertThat(help.out()).as(String.join(" ", command))
                    .contains("--uds=PATH", "--tcp=HOST:PORT", "--tls=HOST:PORT", "--ca=PEM", "--cert=PEM", "--key=PEM",
                            "--token=TOKEN", "--token-file=FILE", "$WIREBUS_TOKEN");
        }
    }
}
