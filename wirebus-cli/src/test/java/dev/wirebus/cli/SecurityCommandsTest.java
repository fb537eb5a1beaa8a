package dev.wirebus.cli;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.security.TokenHash;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code [security]} in the config file, {@code --insecure}, the admin commands and {@code wirebus token}. */
class SecurityCommandsTest extends BrokerFixture {
    private static final Path ROLES = Path.of("").toAbsolutePath().getParent()
            .resolve("examples/security/wirebus-roles.toml");

    private BrokerConfig.Builder withRoles() {
        return BrokerConfig.builder().security(ConfigFile.read(ROLES).securitySettings().config());
    }

    @Test
    void streamsListsWhatTheTokenMayAdministerAndRefusesWithoutOne() throws Exception {
        var b = startBroker(withRoles());
        String sock = b.unixSocket().toString();
        try (WirebusClient committer = WirebusClient.builder().address("unix://" + sock).token("committer-demo-token")
                .connect()) {
            committer.publish("blocks", new byte[] {1}).get(10, TimeUnit.SECONDS);
        }
        Cli.Result listed = Cli.run("streams", "--uds", sock, "--token", "operator-demo-token");
        assertThat(listed.exitCode()).as(listed.err()).isZero();
        assertThat(listed.out()).startsWith("STREAM\tFIRST\tLAST\tBYTES\tCONSUMERS\n").contains("blocks\t1\t1\t");

        Cli.Result anonymous = Cli.run("streams", "--uds", sock);
        assertThat(anonymous.exitCode()).isZero();
        assertThat(anonymous.out()).isEqualTo("STREAM\tFIRST\tLAST\tBYTES\tCONSUMERS\n");

        Cli.Result denied = Cli.run("stream", "delete", "blocks", "--uds", sock, "--token", "observer-demo-token");
        assertThat(denied.exitCode()).isEqualTo(1);
        assertThat(denied.err()).contains("PERMISSION_DENIED: admin on 'blocks' is not permitted for 'observer'");

        Cli.Result deleted = Cli.run("stream", "delete", "blocks", "--uds", sock, "--token", "operator-demo-token");
        assertThat(deleted.exitCode()).as(deleted.err()).isZero();
        assertThat(deleted.out()).isEqualTo("deleted stream 'blocks' with its messages and durable consumers\n");
        Cli.Result again = Cli.run("stream", "delete", "blocks", "--uds", sock, "--token", "operator-demo-token");
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.err()).contains("NOT_FOUND: no stream 'blocks'");
        Cli.Result none = Cli.run("streams", "--uds", sock, "--token", "operator-demo-token");
        assertThat(none.out()).isEqualTo("STREAM\tFIRST\tLAST\tBYTES\tCONSUMERS\n");

        Cli.Result badToken = Cli.run("streams", "--uds", sock, "--token", "nope");
        assertThat(badToken.exitCode()).isEqualTo(1);
        assertThat(badToken.err()).contains("authentication failed: AUTH_FAILED");
    }

    @Test
    void serveRefusesAnOpenNonLoopbackListenerUnlessInsecure() throws Exception {
        Path file = dir.resolve("open.toml");
        Files.writeString(file, "[security.principals.anonymous]\nread = [\">\"]\n");
        String[] serve = {"serve", "--config", file.toString(), "--uds", dir.resolve("s.sock").toString(),
                "--tcp", "0.0.0.0:0", "--store", "memory"};
        Cli.Result refused = Cli.run(serve);
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.err()).contains("refusing to listen on 0.0.0.0").contains("--insecure");

        String[] insecure = java.util.Arrays.copyOf(serve, serve.length + 1);
        insecure[serve.length] = "--insecure";
        try (Cli.Running running = Cli.start(Map.of(), insecure)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> running.out().contains("ready\n") || running.isDone());
            assertThat(running.out()).contains("wirebus security: access control on").contains("ready\n");
        }
    }

    @Test
    void tokenPrintsANewTokenAndItsHash() {
        Cli.Result r = Cli.run("token");
        assertThat(r.exitCode()).isZero();
        String token = r.out().lines().filter(l -> l.startsWith("token: ")).findFirst().orElseThrow().substring(7);
        assertThat(r.out()).contains("hash:  " + TokenHash.of(token));
    }
}
