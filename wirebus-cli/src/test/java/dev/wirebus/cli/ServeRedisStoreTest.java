package dev.wirebus.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code wirebus serve --store redis://...} twice on one real redis-server: two brokers, one stream. */
class ServeRedisStoreTest extends BrokerFixture {

    @Test
    void twoServesOnOneRedisServeTheSameStream() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/redis-server")),
                "redis-server is not installed (apt-get install -y redis-server): skipped");
        int redisPort;
        try (ServerSocket s = new ServerSocket(0)) {
            redisPort = s.getLocalPort();
        }
        Path redisDir = Files.createDirectories(dir.resolve("redis"));
        Process redis = new ProcessBuilder("/usr/bin/redis-server", "--port", Integer.toString(redisPort), "--bind",
                "127.0.0.1", "--dir", redisDir.toString(), "--appendonly", "yes", "--appendfsync", "always", "--save", "")
                .redirectErrorStream(true).redirectOutput(redisDir.resolve("redis.out").toFile()).start();
        try {
            String store = "redis://127.0.0.1:" + redisPort;
            Path a = dir.resolve("a.sock");
            Path b = dir.resolve("b.sock");
            // the first serve retries nothing: wait until redis-server listens
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", redisPort)) {
                    return true;
                }
            });
            try (Cli.Running one = Cli.start("serve", "--uds", a.toString(), "--no-tcp", "--store", store);
                 Cli.Running two = Cli.start("serve", "--uds", b.toString(), "--no-tcp", "--store", store)) {
                await().atMost(Duration.ofSeconds(20)).until(() -> one.out().contains("ready\n") && two.out().contains("ready\n"));
                assertThat(one.out()).contains("wirebus storage: redis " + store + " (appendonly yes, appendfsync always)");
                assertThat(Cli.run("pub", "orders", "first", "--uds", a.toString()).out()).isEqualTo("1\n");
                assertThat(Cli.run("pub", "orders", "second", "--uds", b.toString()).out()).isEqualTo("2\n");
                assertThat(Cli.run("sub", "orders", "--count", "2", "--uds", b.toString()).out())
                        .isEqualTo("1\tfirst\n2\tsecond\n");
                assertThat(Cli.run("sub", "orders", "--count", "2", "--uds", a.toString()).out())
                        .isEqualTo("1\tfirst\n2\tsecond\n");
                one.interrupt();
                two.interrupt();
                assertThat(one.awaitExit(Cli.DEADLINE).exitCode()).isZero();
                assertThat(two.awaitExit(Cli.DEADLINE).exitCode()).isZero();
            }
        } finally {
            redis.destroyForcibly();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void readyzIsFalseWhileRedisDoesNotAnswerAndTrueAgainOnceItDoes() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/redis-server")),
                "redis-server is not installed (apt-get install -y redis-server): skipped");
        int redisPort;
        try (ServerSocket s = new ServerSocket(0)) {
            redisPort = s.getLocalPort();
        }
        Path redisDir = Files.createDirectories(dir.resolve("redis-ready"));
        Process redis = new ProcessBuilder("/usr/bin/redis-server", "--port", Integer.toString(redisPort), "--bind",
                "127.0.0.1", "--dir", redisDir.toString(), "--save", "")
                .redirectErrorStream(true).redirectOutput(redisDir.resolve("redis.out").toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", redisPort)) {
                    return true;
                }
            });
            Path sock = dir.resolve("ready.sock");
            try (Cli.Running serve = Cli.start("serve", "--uds", sock.toString(), "--no-tcp",
                    "--store", "redis://127.0.0.1:" + redisPort + "?timeout=1s", "--http", "127.0.0.1:0")) {
                await().atMost(Duration.ofSeconds(20)).until(() -> serve.out().contains("ready\n"));
                String page = serve.out().lines().filter(l -> l.startsWith("wirebus http on "))
                        .findFirst().orElseThrow().substring("wirebus http on ".length());
                java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
                java.net.http.HttpRequest readyz = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(page + "readyz")).timeout(Duration.ofSeconds(10)).build();
                assertThat(http.send(readyz, java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode())
                        .isEqualTo(200);
                // a Redis that stops answering (SIGSTOP): not ready, naming the store check
                new ProcessBuilder("kill", "-STOP", Long.toString(redis.pid())).start().waitFor();
                try {
                    await().atMost(Duration.ofSeconds(30)).until(() ->
                            http.send(readyz, java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode() == 503);
                    assertThat(http.send(readyz, java.net.http.HttpResponse.BodyHandlers.ofString()).body())
                            .contains("store");
                } finally {
                    new ProcessBuilder("kill", "-CONT", Long.toString(redis.pid())).start().waitFor();
                }
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        http.send(readyz, java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
                serve.interrupt();
                assertThat(serve.awaitExit(Cli.DEADLINE).exitCode()).isZero();
            }
        } finally {
            redis.destroyForcibly();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aNodeKilledWithSigkillWhilePublishingLosesNoAcknowledgedPublishAndResendsThroughAnotherAreAppendedOnce()
            throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/redis-server")),
                "redis-server is not installed (apt-get install -y redis-server): skipped");
        int redisPort = freePort();
        Path redisDir = Files.createDirectories(dir.resolve("redis-kill"));
        Process redis = new ProcessBuilder("/usr/bin/redis-server", "--port", Integer.toString(redisPort), "--bind",
                "127.0.0.1", "--dir", redisDir.toString(), "--appendonly", "yes", "--appendfsync", "always", "--save", "")
                .redirectErrorStream(true).redirectOutput(redisDir.resolve("redis.out").toFile()).start();
        Process nodeA = null;
        try {
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", redisPort)) {
                    return true;
                }
            });
            String store = "redis://127.0.0.1:" + redisPort;
            // node A in a JVM of its own, so it can die by SIGKILL; node B in this one
            int portA = freePort();
            nodeA = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), "dev.wirebus.cli.WirebusCommand", "serve", "--no-uds",
                    "--tcp", "127.0.0.1:" + portA, "--store", store)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("node-a.out").toFile()).start();
            Path b = dir.resolve("b.sock");
            try (Cli.Running nodeB = Cli.start("serve", "--uds", b.toString(), "--no-tcp", "--store", store)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(dir.resolve("node-a.out"))
                        .contains("ready") && nodeB.out().contains("ready\n"));
                java.util.Map<Long, Long> acked = new java.util.concurrent.ConcurrentHashMap<>();
                java.util.List<Long> unacknowledged = new java.util.ArrayList<>();
                try (dev.wirebus.client.WirebusClient toA = dev.wirebus.client.WirebusClient.builder()
                        .address("tcp://127.0.0.1:" + portA).requestTimeout(Duration.ofSeconds(20))
                        .reconnectPolicy(dev.wirebus.client.ReconnectPolicy.never()).connect()) {
                    java.util.List<java.util.concurrent.CompletableFuture<dev.wirebus.client.PublishAck>> sent =
                            new java.util.ArrayList<>();
                    // at most 16 in flight: fewer than the 32 batches the store remembers per producer, so every
                    // resend of an appended batch is recognised as a duplicate
                    java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(16);
                    for (long i = 1; i <= 400; i++) {
                        if (!window.tryAcquire(30, TimeUnit.SECONDS)) {
                            throw new AssertionError("no ack nor failure within 30 s");
                        }
                        sent.add(toA.publish("ledger", ("e" + i).getBytes(java.nio.charset.StandardCharsets.UTF_8),
                                dev.wirebus.client.PublishOptions.builder().producer("ledger-writer", i).build())
                                .whenComplete((ack, failure) -> window.release()));
                        if (i == 200) {
                            sent.get(99).get(20, TimeUnit.SECONDS); // some are acknowledged before the kill
                            nodeA.destroyForcibly();
                        }
                    }
                    for (int k = 0; k < sent.size(); k++) {
                        try {
                            acked.put(k + 1L, sent.get(k).get(30, TimeUnit.SECONDS).firstSequence());
                        } catch (java.util.concurrent.ExecutionException e) {
                            unacknowledged.add(k + 1L);
                        }
                    }
                }
                assertThat(acked).hasSizeGreaterThanOrEqualTo(100);
                assertThat(unacknowledged).isNotEmpty();
                // the producer resends what it did not see acknowledged, in order, through node B
                try (dev.wirebus.client.WirebusClient toB = dev.wirebus.client.WirebusClient.builder()
                        .address("unix://" + b).connect()) {
                    for (long i : unacknowledged) {
                        acked.put(i, toB.publish("ledger", ("e" + i).getBytes(java.nio.charset.StandardCharsets.UTF_8),
                                dev.wirebus.client.PublishOptions.builder().producer("ledger-writer", i).build())
                                .get(20, TimeUnit.SECONDS).firstSequence());
                    }
                    java.util.List<dev.wirebus.client.Message> all = new java.util.ArrayList<>();
                    while (all.size() < 400) {
                        var page = toB.fetch("ledger", all.size() + 1, 1000).get(10, TimeUnit.SECONDS);
                        assertThat(page.messages()).isNotEmpty();
                        all.addAll(page.messages());
                    }
                    assertThat(toB.fetch("ledger", 1, 0).get(10, TimeUnit.SECONDS).lastSequence()).isEqualTo(400);
                    for (dev.wirebus.client.Message m : all) {
                        long i = Long.parseLong(m.payloadAsString().substring(1));
                        assertThat(acked.get(i)).as("e%d", i).isEqualTo(m.sequence());
                    }
                }
                nodeB.interrupt();
                assertThat(nodeB.awaitExit(Cli.DEADLINE).exitCode()).isZero();
            }
        } finally {
            if (nodeA != null) {
                nodeA.destroyForcibly();
                nodeA.waitFor(10, TimeUnit.SECONDS);
            }
            redis.destroyForcibly();
            redis.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void theDeployExampleConfigNamesARedisStore() throws Exception {
        Path root = Path.of("").toAbsolutePath().getParent();
        ServeSettings s = ServeSettings.resolve(java.util.List.of(ServeSettings.defaults(),
                ConfigFile.read(root.resolve("deploy/systemd/wirebus.toml"))));
        assertThat(s.redisStore()).isNotNull();
        assertThat(s.redisStore().nodes().get(0).host()).isEqualTo("10.0.0.10");
        assertThat(s.redisStore().timeout()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void aBadRedisAddressIsAUsageError() throws Exception {
        Cli.Result r = Cli.run("serve", "--uds", dir.resolve("x.sock").toString(), "--no-tcp",
                "--store", "redis://h:1?colour=red");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("--store", "unknown option 'colour'");
    }
}
