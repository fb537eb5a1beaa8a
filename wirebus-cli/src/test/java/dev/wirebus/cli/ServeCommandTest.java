package dev.wirebus.cli;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ServeCommandTest extends BrokerFixture {

    @Test
    void servePrintsWhereItListensThenReadyAndStopsCleanlyWhenAskedTo() throws Exception {
        Path sock = dir.resolve("serve.sock");
        Path data = dir.resolve("data");
        try (Cli.Running serve = Cli.start("serve", "--uds", sock.toString(), "--tcp", "127.0.0.1:0",
                "--data", data.toString())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> serve.out().contains("ready\n"));

            List<String> lines = serve.out().lines().toList();
            assertThat(lines).hasSize(6);
            assertThat(lines.get(0)).isEqualTo("wirebus listening on unix://" + sock.toAbsolutePath());
            assertThat(lines.get(1)).matches("wirebus listening on tcp://127\\.0\\.0\\.1:[1-9]\\d*");
            assertThat(lines.get(2)).isEqualTo("wirebus storage: disk " + data.toAbsolutePath()
                    + " (durability batch, fsync within 5 ms)");
            assertThat(lines.get(3)).isEqualTo("wirebus retention: 1000000 messages, 1GiB per stream");
            assertThat(lines.get(4)).matches("wirebus transport: (epoll|nio)");
            assertThat(lines.get(5)).isEqualTo("ready");
            String port = lines.get(1).substring(lines.get(1).lastIndexOf(':') + 1);
            assertThat(Cli.run("pub", "s", "hi", "--tcp", "127.0.0.1:" + port).out()).isEqualTo("1\n");
            assertThat(Cli.run("sub", "s", "--count", "1", "--uds", sock.toString()).out()).isEqualTo("1\thi\n");

            serve.interrupt();
            Cli.Result r = serve.awaitExit(Cli.DEADLINE);

            assertThat(r.exitCode()).isZero();
            assertThat(r.out()).endsWith("ready\nwirebus stopped\n");
            assertThat(sock).doesNotExist();
        }
        // the next serve on the same data directory has the message
        try (Cli.Running again = Cli.start("serve", "--uds", sock.toString(), "--no-tcp", "--data", data.toString())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> again.out().contains("ready\n"));
            assertThat(Cli.run("sub", "s", "--count", "1", "--uds", sock.toString()).out()).isEqualTo("1\thi\n");
            again.interrupt();
            assertThat(again.awaitExit(Cli.DEADLINE).exitCode()).isZero();
        }
    }

    @Test
    void serveInMemoryKeepsNothingOnDiskAndBadStorageOptionsAreUsageErrors() throws Exception {
        Path sock = dir.resolve("mem.sock");
        try (Cli.Running serve = Cli.start("serve", "--uds", sock.toString(), "--no-tcp", "--store", "memory",
                "--data", dir.resolve("unused").toString())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> serve.out().contains("ready\n"));
            assertThat(serve.out()).contains("wirebus storage: memory\n");
            serve.interrupt();
            assertThat(serve.awaitExit(Cli.DEADLINE).exitCode()).isZero();
        }
        assertThat(dir.resolve("unused")).doesNotExist();
        Cli.Result store = Cli.run("serve", "--no-uds", "--tcp", "127.0.0.1:0", "--store", "tape");
        assertThat(store.exitCode()).isEqualTo(2);
        assertThat(store.errLines()).singleElement().asString().contains("--store 'tape'");
        Cli.Result durability = Cli.run("serve", "--no-uds", "--tcp", "127.0.0.1:0", "--durability", "sometimes");
        assertThat(durability.exitCode()).isEqualTo(2);
        assertThat(durability.errLines()).singleElement().asString().contains("--durability 'sometimes'");
    }

    @Test
    void serveRefusesToStartWhenALiveBrokerIsOnThePath() {
        Cli.Result r = Cli.run("serve", "--uds", socket, "--no-tcp", "--data", dir.resolve("d1").toString());

        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .isEqualTo("wirebus: another broker is listening on " + socket
                        + "; stop it or choose another path with --uds");
        // the live broker is untouched
        assertThat(Path.of(socket)).exists();
        assertThat(Cli.run("pub", "still", "alive", "--uds", socket).exitCode()).isZero();
    }

    @Test
    void serveRemovesTheSocketFileItCreatedWhenTheTcpPortIsTaken() throws Exception {
        Path sock = dir.resolve("second.sock");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Cli.Result r = Cli.run("serve", "--uds", sock.toString(), "--tcp", "127.0.0.1:" + taken.getLocalPort(),
                    "--data", dir.resolve("d2").toString());

            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.errLines()).singleElement().asString().startsWith("wirebus: cannot listen on TCP");
            assertThat(Files.exists(sock)).isFalse();
        }
    }

    @Test
    void serveNeedsSomethingToListenOn() {
        Cli.Result r = Cli.run("serve", "--no-uds", "--no-tcp");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().asString().contains("nothing to listen on");
    }

    @Test
    void serveRejectsAMalformedSocketModeAndRetention() {
        Cli.Result mode = Cli.run("serve", "--uds", dir.resolve("x.sock").toString(), "--socket-mode", "rw-", "--no-tcp");
        Cli.Result retention = Cli.run("serve", "--no-uds", "--tcp", "127.0.0.1:0", "--retention-messages", "0");

        assertThat(mode.exitCode()).isEqualTo(2);
        assertThat(mode.errLines()).singleElement().asString().contains("--socket-mode 'rw-'");
        assertThat(retention.exitCode()).isEqualTo(2);
        assertThat(retention.errLines()).singleElement().asString().contains("--retention-messages must be at least 1");
        assertThat(dir.resolve("x.sock")).doesNotExist();
    }
}
