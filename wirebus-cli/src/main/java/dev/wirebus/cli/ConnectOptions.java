package dev.wirebus.cli;

import dev.wirebus.client.AuthenticationException;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.ReconnectPolicy;
import dev.wirebus.client.WirebusClient;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * How every client command (pub, sub, req, respond, consumers, streams, stream, consumer) reaches
 * the broker and who it is there: {@code --uds PATH}, {@code --tcp HOST:PORT} or {@code --tls
 * HOST:PORT} (else the broker's default socket, the one {@code wirebus serve} listens on without
 * flags); for TLS {@code --ca PEM} (the CA the broker's certificate must chain to) and, for mutual
 * TLS, {@code --cert PEM --key PEM}; a bearer credential from {@code --token}, {@code --token-file}
 * or {@code $WIREBUS_TOKEN}. The connection itself is a {@link WirebusClient}.
 *
 * <pre>{@code
 * wirebus streams --tls broker.example:7443 --ca ca.pem --token-file operator.token
 * }</pre>
 */
final class ConnectOptions {
    /** The environment variable a token is taken from when no option gives one. */
    static final String TOKEN_VARIABLE = "WIREBUS_TOKEN";

    private final Supplier<Map<String, String>> environment;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target;

    static final class Target {
        @Option(names = "--uds", paramLabel = "PATH",
                description = "Broker's Unix socket (default: $WIREBUS_SOCKET, else $XDG_RUNTIME_DIR/wirebus.sock, "
                        + "else ./wirebus.sock).")
        Path uds;

        @Option(names = "--tcp", paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
                description = "Connect over plain TCP instead, e.g. 127.0.0.1:7440.")
        HostPort tcp;

        @Option(names = "--tls", paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
                description = "Connect over TCP with TLS (1.2 or 1.3) instead; the broker's "
                        + "certificate must chain to --ca (default: the JDK's trusted CAs) and name HOST.")
        HostPort tls;
    }

    @Option(names = "--ca", paramLabel = "PEM",
            description = "With --tls: the CA certificate(s) the broker's certificate must chain to (PEM file).")
    Path ca;

    @Option(names = "--cert", paramLabel = "PEM",
            description = "With --tls, for mutual TLS: this client's certificate chain (PEM file); needs --key.")
    Path cert;

    @Option(names = "--key", paramLabel = "PEM",
            description = "The PKCS#8 private key of --cert (PEM file, BEGIN PRIVATE KEY).")
    Path key;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "Bearer credential (a static token or a JWT) to authenticate with, over any transport "
                    + "(default: $WIREBUS_TOKEN). It shows in the process list: prefer --token-file or the variable.")
    String token;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "Read the bearer credential from FILE (its first line).")
    Path tokenFile;

    ConnectOptions() {
        this(System::getenv);
    }

    /** Options that read {@code WIREBUS_TOKEN} from {@code environment} (tests give their own). */
    ConnectOptions(Supplier<Map<String, String>> environment) {
        this.environment = environment;
    }

    /** The client address: {@code unix:///path}, {@code tcp://host:port} or {@code tls://host:port}. */
    String address() {
        if (target != null && target.tls != null) {
            return "tls://" + target.tls;
        }
        if (target != null && target.tcp != null) {
            return target.tcp.uri();
        }
        if (target != null && target.uds != null) {
            return "unix://" + target.uds.toAbsolutePath().normalize();
        }
        return WirebusClient.defaultAddress();
    }

    /**
     * A client that does not reconnect (pub, req, sub, consumers, the admin commands), so a lost
     * broker fails the command at once instead of leaving it waiting or resuming where it should not.
     *
     * @throws CliFailure saying why the broker cannot be reached or refused the credential
     */
    WirebusClient connectOnce(String name) {
        return connectOnce(name, new ConnectionListener() { });
    }

    /** {@link #connectOnce(String)}, telling {@code listener} about errors no call receives. */
    WirebusClient connectOnce(String name, ConnectionListener listener) {
        return connect(builder(name).reconnectPolicy(ReconnectPolicy.never()).listener(listener));
    }

    /**
     * A long-running client (respond): reconnects and resumes after a lost connection (with the
     * same credential), telling the user on {@code err} as it happens.
     */
    WirebusClient connectLasting(String name, ConnectionReporter reporter, Executor dispatch) {
        WirebusClient.Builder b = builder(name).listener(reporter);
        if (dispatch != null) {
            b.dispatchExecutor(dispatch);
        }
        return connect(b);
    }

    private WirebusClient connect(WirebusClient.Builder b) {
        try {
            return b.connect();
        } catch (AuthenticationException e) {
            // the broker's own reason (unknown credential, expired, wrong audience, ...), never the token
            throw new CliFailure("authentication failed: " + e.errorCode().name() + ": " + e.getMessage());
        } catch (ConnectionException e) {
            throw new CliFailure(explain(WirebusCommand.describe(e)));
        } catch (IllegalArgumentException e) {
            // a PEM file the TLS setup cannot use: the client names the file and what is wrong with it
            throw new CliFailure(e.getMessage());
        }
    }

    /** A connection failure's message with what the user can do about it, where the options tell. */
    private String explain(String message) {
        boolean tls = target != null && target.tls != null;
        if (tls && message.contains("not an SSL/TLS record")) {
            // the client's message goes on with a hex dump of what the broker sent: leave it out
            return message.substring(0, message.indexOf("not an SSL/TLS record"))
                    + "the broker does not speak TLS there (a plain TCP listener? then use --tcp)";
        }
        if (tls && ca == null && message.startsWith("TLS handshake")) {
            return message + "; without --ca only the JDK's default CAs are trusted";
        }
        if (!tls && target != null && target.tcp != null && message.contains("closed during the handshake")) {
            return message + " (a TLS listener? then use --tls HOST:PORT with --ca)";
        }
        return message;
    }

    /** The client's settings from the options, each checked here so an error names the option. */
    private WirebusClient.Builder builder(String name) {
        boolean tls = target != null && target.tls != null;
        WirebusClient.Builder b = WirebusClient.builder().address(address()).name(name);
        if (!tls && (ca != null || cert != null || key != null)) {
            throw usage((ca != null ? "--ca" : cert != null ? "--cert" : "--key") + " needs --tls HOST:PORT");
        }
        if ((cert == null) != (key == null)) {
            throw usage(cert != null ? "--cert needs --key (its private key)" : "--key needs --cert");
        }
        if (ca != null) {
            b.trustedCertificates(readable("--ca", ca));
        }
        if (cert != null) {
            b.clientCertificate(readable("--cert", cert), readable("--key", key));
        }
        String credential = credential();
        if (credential != null) {
            b.token(credential);
        }
        return b;
    }

    /** The bearer credential: --token, else --token-file, else $WIREBUS_TOKEN; null when none. */
    String credential() {
        if (token != null && tokenFile != null) {
            throw usage("give either --token or --token-file, not both");
        }
        if (token != null) {
            if (token.isBlank()) {
                throw usage("--token is empty");
            }
            return token.strip();
        }
        if (tokenFile != null) {
            String t;
            try {
                t = Files.readAllLines(tokenFile, StandardCharsets.UTF_8).stream().findFirst().orElse("").strip();
            } catch (IOException | java.io.UncheckedIOException e) {
                throw usage("--token-file " + tokenFile + " cannot be read: " + e.getMessage());
            }
            if (t.isEmpty()) {
                throw usage("--token-file " + tokenFile + " has no token on its first line");
            }
            return t;
        }
        String fromEnvironment = environment.get().get(TOKEN_VARIABLE);
        return fromEnvironment == null || fromEnvironment.isBlank() ? null : fromEnvironment.strip();
    }

    private Path readable(String option, Path file) {
        if (!Files.isReadable(file)) {
            throw usage(option + " " + file + " does not exist or is not readable");
        }
        return file.toAbsolutePath();
    }

    private ParameterException usage(String message) {
        return new ParameterException(command.commandLine(), message);
    }
}
