package dev.wirebus.cli;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ServeCommandTest extends BrokerFixture {

    @Test
    void servePrintsWhereItListensThenReadyAndStopsCleanlyWhenAskedTo() throws Exception {
        Path sock = dir.resolve("serve.sock");
        Path data = dir.resolve("data");
        try (Cli.Running serve = Cli.start("serve", "--uds", sock.toString(), "--tcp", "127.0.0.1:0",
                "--data", data.toString(), "--http", "127.0.0.1:0")) {
            await().atMost(Duration.ofSeconds(10)).until(() -> serve.out().contains("ready\n"));

            List<String> lines = serve.out().lines().toList();
            assertThat(lines).hasSize(8);
            assertThat(lines.get(0)).isEqualTo("wirebus listening on unix://" + sock.toAbsolutePath());
            assertThat(lines.get(1)).matches("wirebus listening on tcp://127\\.0\\.0\\.1:[1-9]\\d*");
            assertThat(lines.get(2)).isEqualTo("wirebus storage: disk " + data.toAbsolutePath()
                    + " (durability always)");
            assertThat(lines.get(3)).isEqualTo("wirebus retention: 1000000 messages, 1GiB per stream");
            assertThat(lines.get(4)).matches("wirebus transport: (epoll|nio)");
            assertThat(lines.get(5)).matches("wirebus http on http://127\\.0\\.0\\.1:[1-9]\\d*/");
            assertThat(lines.get(6)).isEqualTo("wirebus http limits: 2000/s per client IP, body 1MiB, headers 16KiB, "
                    + "request timeout 10s, in flight 1024 (256 per client IP), connections 10000 (1000 per client IP), idle 620s, header timeout 10s, "
                    + "subscriber buffer 4MiB");
            assertThat(lines.get(7)).isEqualTo("ready");
            String page = lines.get(5).substring("wirebus http on ".length());
            java.net.http.HttpResponse<String> health = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(page + "readyz")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).as("the gateway reaches the broker").isEqualTo(200);
            String port = lines.get(1).substring(lines.get(1).lastIndexOf(':') + 1);
            assertThat(Cli.run("pub", "s", "hi", "--tcp", "127.0.0.1:" + port).out()).isEqualTo("1\n");
            assertThat(Cli.run("sub", "s", "--count", "1", "--uds", sock.toString()).out()).isEqualTo("1\thi\n");
            String metrics = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(page + "metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).as("one scrape has the broker's and the gateway's meters")
                    .contains("wirebus_messages_published_total{kind=\"plain\"} 1.0",
                            "wirebus_stream_last_sequence{stream=\"s\"} 1.0",
                            "wirebus_http_requests_seconds_count{method=\"GET\",route=\"/readyz\",status=\"200\"} 1");

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

    // ---------------------------------------------------------------- --config FILE and WIREBUS_* variables

    @Test
    void aConfigFileSetsListenersStorageAndRetentionAndServePrintsThem() throws Exception {
        Path sock = dir.resolve("cfg.sock");
        Path data = dir.resolve("cfg-data");
        Path file = write("wirebus.toml", """
                uds = '%s'
                tcp = false

                [storage]
                data = '%s'
                durability = "always"

                [retention]
                messages = 1000
                bytes = "64MiB"
                age = "168h"
                """.formatted(sock, data));

        List<String> lines = serveUntilReady(Map.of(), "serve", "--config", file.toString());

        assertThat(lines).hasSize(7);
        assertThat(lines.get(0)).isEqualTo("wirebus config: " + file.toAbsolutePath());
        assertThat(lines.get(1)).isEqualTo("wirebus listening on unix://" + sock);
        assertThat(lines.get(2)).isEqualTo("wirebus storage: disk " + data + " (durability always)");
        assertThat(lines.get(3)).isEqualTo("wirebus retention: 1000 messages, 64MiB, 168h per stream");
        assertThat(lines.get(5)).isEqualTo("wirebus http: off");
        assertThat(lines.get(6)).isEqualTo("ready");
        assertThat(data).isDirectory();
    }

    @Test
    void theEnvironmentOverridesTheFileAndAFlagOverridesTheEnvironment() throws Exception {
        Path file = write("wirebus.toml", """
                tcp = false
                [storage]
                durability = "always"
                sync-interval = "50ms"
                [retention]
                messages = 1000
                """);
        String[] serve = {"serve", "--config", file.toString(), "--uds", dir.resolve("p.sock").toString(),
            "--data", dir.resolve("p-data").toString()};

        List<String> fromFile = serveUntilReady(Map.of(), serve);
        List<String> fromEnv = serveUntilReady(Map.of("WIREBUS_DURABILITY", "batch", "WIREBUS_RETENTION_MESSAGES", "500",
                "WIREBUS_DATA", dir.resolve("ignored").toString()), serve);
        String[] withFlags = Arrays.copyOf(serve, serve.length + 4);
        System.arraycopy(new String[] {"--sync-interval", "2ms", "--retention-messages", "7"}, 0, withFlags,
                serve.length, 4);
        List<String> fromFlags = serveUntilReady(Map.of("WIREBUS_DURABILITY", "batch",
                "WIREBUS_SYNC_INTERVAL", "20ms", "WIREBUS_RETENTION_MESSAGES", "500"), withFlags);

        String data = dir.resolve("p-data").toString();
        assertThat(fromFile).contains("wirebus storage: disk " + data + " (durability always)",
                "wirebus retention: 1000 messages, 1GiB per stream");
        // durability from the environment, the sync interval still from the file; --data beats WIREBUS_DATA
        assertThat(fromEnv).contains("wirebus storage: disk " + data + " (durability batch, fsync within 50 ms)",
                "wirebus retention: 500 messages, 1GiB per stream");
        assertThat(fromFlags).contains("wirebus storage: disk " + data + " (durability batch, fsync within 2 ms)",
                "wirebus retention: 7 messages, 1GiB per stream");
        assertThat(dir.resolve("ignored")).doesNotExist();
    }

    @Test
    void anUnknownKeyInTheFileIsAUsageErrorNamingFileAndKey() throws Exception {
        Path file = write("wirebus.toml", """
                [storage]
                durability = "always"
                compression = "zstd"
                """);

        Cli.Result r = Cli.run("serve", "--config", file.toString());

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly("wirebus: " + file + ": [storage] compression: unknown key "
                + "(keys of [storage]: store, data, durability, sync-interval, sync-bytes, segment-bytes, "
                + "max-streams, max-open-files, file-mode, directory-mode)");
    }

    @Test
    void aBadDurationOrSizeInTheFileIsAUsageErrorNamingKeyAndValue() throws Exception {
        Path age = write("age.toml", "[retention]\nage = \"10 parsecs\"\n");
        Path bytes = write("bytes.toml", "[retention]\nbytes = \"1GB\"\n");
        Path range = write("range.toml", "[storage]\nsegment-bytes = 100\n");

        Cli.Result a = Cli.run("serve", "--config", age.toString());
        Cli.Result b = Cli.run("serve", "--config", bytes.toString());
        Cli.Result c = Cli.run("serve", "--config", range.toString());

        assertThat(a.exitCode()).isEqualTo(2);
        assertThat(a.errLines()).containsExactly("wirebus: " + age + ": [retention] age: '10 parsecs' is not a "
                + "duration: use a whole number with a unit, e.g. 500ms, 10s, 2m, 1h");
        assertThat(b.exitCode()).isEqualTo(2);
        assertThat(b.errLines()).containsExactly("wirebus: " + bytes + ": [retention] bytes: '1GB' is not a size "
                + "like 4096, 64KiB, 64MiB, 1GiB: units are binary, write KiB, MiB, GiB or TiB");
        assertThat(c.exitCode()).isEqualTo(2);
        assertThat(c.errLines()).containsExactly("wirebus: " + range + ": [storage] segment-bytes: "
                + "must be between 4096 and 1 GiB, was 100");
    }

    @Test
    void aMissingConfigFileIsAUsageError() {
        Path missing = dir.resolve("nowhere.toml");

        Cli.Result r = Cli.run("serve", "--config", missing.toString());

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly("wirebus: " + missing + ": no such file");
    }

    @Test
    void aBadEnvironmentValueIsAUsageErrorNamingTheVariable() {
        Cli.Result r = Cli.run(Map.of("WIREBUS_SYNC_INTERVAL", "fast"), "serve", "--no-uds", "--tcp", "127.0.0.1:0");

        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly("wirebus: WIREBUS_SYNC_INTERVAL: 'fast' is not a duration: "
                + "use a whole number with a unit, e.g. 500ms, 10s, 2m, 1h");
    }

    @Test
    void newFlagsAreCheckedLikeTheOthers() {
        Cli.Result size = Cli.run("serve", "--no-uds", "--tcp", "127.0.0.1:0", "--segment-bytes", "64 parsecs");
        Cli.Result message = Cli.run("serve", "--no-uds", "--tcp", "127.0.0.1:0", "--max-frame-bytes", "64KiB",
                "--max-message-bytes", "1MiB");

        assertThat(size.exitCode()).isEqualTo(2);
        assertThat(size.errLines()).singleElement().asString()
                .startsWith("wirebus: --segment-bytes '64 parsecs' is not a size like 4096, 64KiB, 64MiB, 1GiB");
        assertThat(message.exitCode()).isEqualTo(2);
        assertThat(message.errLines()).singleElement().asString()
                .startsWith("wirebus: --max-message-bytes must leave 512 bytes of a frame for headers: at most 65024");
    }

    /** Runs serve until it is ready, stops it and returns what it printed up to "ready". */
    private static List<String> serveUntilReady(Map<String, String> env, String... args) throws Exception {
        try (Cli.Running serve = Cli.start(env, args)) {
            await().atMost(Duration.ofSeconds(10)).until(() -> serve.out().contains("ready\n") || serve.isDone());
            List<String> lines = serve.out().lines().toList();
            assertThat(lines).as("stderr: " + serve.err()).contains("ready");
            serve.interrupt();
            assertThat(serve.awaitExit(Cli.DEADLINE).exitCode()).isZero();
            return lines;
        }
    }

    private Path write(String name, String content) throws Exception {
        return Files.writeString(dir.resolve(name), content);
    }
}
