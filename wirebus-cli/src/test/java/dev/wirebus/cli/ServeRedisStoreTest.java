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
