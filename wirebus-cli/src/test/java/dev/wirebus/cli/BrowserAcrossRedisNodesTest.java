package dev.wirebus.cli;

import dev.wirebus.gateway.BrowserScript;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 15's chunk-7 scenario across nodes, in a real browser: two {@code wirebus serve --store
 * redis://...} processes (each a JVM of its own, so node B can die by SIGKILL) on one real
 * redis-server. {@code browser-tests/redis-nodes.mjs} opens a page of node B that follows a stream
 * with wirebus.js given [B, A], and publishes token chunks through node A's gateway. After a third
 * arrived, node B is frozen (SIGSTOP) while the second third is published on A, then killed
 * (SIGKILL); the page moves to A and must resume after its last sequence. The page's whole list of
 * sequences and its text are compared here: every chunk once, in order.
 *
 * <p>Skipped without {@code /usr/bin/redis-server}; without node, chromium or
 * {@code browser-tests/node_modules} skipped too, except under CI (see {@link BrowserScript}).
 */
class BrowserAcrossRedisNodesTest {
    private static final int CHUNKS = 60;

    @TempDir
    Path dir;

    private final List<Process> processes = new ArrayList<>();

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void aPageFollowingNodeBResumesOnNodeAAfterBIsKilledWithEveryChunkOnceInOrder() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/redis-server")),
                "redis-server is not installed (apt-get install -y redis-server): skipped");
        try {
            int redisPort = freePort();
            Path redisDir = Files.createDirectories(dir.resolve("redis"));
            start(new ProcessBuilder("/usr/bin/redis-server", "--port", Integer.toString(redisPort), "--bind",
                    "127.0.0.1", "--dir", redisDir.toString(), "--appendonly", "yes", "--appendfsync", "always",
                    "--save", "").redirectErrorStream(true).redirectOutput(redisDir.resolve("redis.out").toFile()));
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
                try (Socket s = new Socket("127.0.0.1", redisPort)) {
                    return true;
                }
            });
            String store = "redis://127.0.0.1:" + redisPort;
            Path outB = dir.resolve("node-b.out");
            Process nodeB = serve(outB, "serve", "--uds", dir.resolve("b.sock").toString(), "--no-tcp",
                    "--http", "127.0.0.1:0", "--store", store);
            String urlB = httpUrl(outB);
            // the page is node B's; its WebSocket to node A is cross-origin there
            Path outA = dir.resolve("node-a.out");
            serve(outA, "serve", "--uds", dir.resolve("a.sock").toString(), "--no-tcp", "--http", "127.0.0.1:0",
                    "--http-allowed-origins", urlB, "--store", store);
            String urlA = httpUrl(outA);

            BrowserScript.Result r = BrowserScript.run("redis-nodes.mjs", List.of(urlB, urlA),
                    Map.of("CHUNKS", Integer.toString(CHUNKS)), control -> {
                        try {
                            switch (control) {
                                case "stop-b" -> {
                                    signal("STOP", nodeB);
                                    // every thread of node B stopped: it delivers nothing more
                                    await().atMost(Duration.ofSeconds(20)).until(() -> allThreadsStopped(nodeB));
                                    return "stopped";
                                }
                                case "kill-b" -> {
                                    nodeB.destroyForcibly(); // SIGKILL
                                    return nodeB.waitFor(20, TimeUnit.SECONDS) ? "killed" : "still running";
                                }
                                default -> {
                                    return "unknown control " + control;
                                }
                            }
                        } catch (Exception e) {
                            return "failed: " + e;
                        }
                    });
            assertThat(r.finished()).as("redis-nodes.mjs finished; its output:%n%s", r.output()).isTrue();
            String expected = IntStream.rangeClosed(1, CHUNKS).mapToObj(Integer::toString)
                    .collect(Collectors.joining(",", "[", "]"));
            assertThat(line(r.output(), "received: ")).as("the page's sequences; the script's output:%n%s", r.output())
                    .isEqualTo(expected);
            assertThat(line(r.output(), "data: ")).as("the page's text").isEqualTo(IntStream.rangeClosed(1, CHUNKS)
                    .mapToObj(i -> "tok-" + i + " ").collect(Collectors.joining("", "\"", "\"")));
            assertThat(r.exitCode()).as("redis-nodes.mjs exit code; its output:%n%s", r.output()).isZero();
            assertThat(Files.readString(outB)).as("node B ran on the Redis store")
                    .contains("wirebus storage: redis " + store);
        } finally {
            for (Process p : processes) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private Process start(ProcessBuilder pb) throws IOException {
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    /** {@code wirebus serve} in a JVM of its own, with no WIREBUS_* settings from this environment. */
    private Process serve(Path out, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.wirebus.cli.WirebusCommand"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("WIREBUS_"));
        return start(pb);
    }

    /** Waits for the node's "ready" and answers its gateway's address (without the trailing slash). */
    private static String httpUrl(Path out) throws IOException {
        String prefix = "wirebus http on ";
        await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(out).contains("ready\n"));
        String url = Files.readAllLines(out).stream().filter(l -> l.startsWith(prefix)).findFirst()
                .orElseThrow(() -> new AssertionError("no '" + prefix + "' line in " + out))
                .substring(prefix.length()).trim();
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    private static void signal(String signal, Process p) throws IOException, InterruptedException {
        int exit = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start().waitFor();
        assertThat(exit).as("kill -%s %d", signal, p.pid()).isZero();
    }

    /** Whether every thread of {@code p} is stopped ('T' in /proc/PID/task/TID/stat). */
    private static boolean allThreadsStopped(Process p) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(p.pid()), "task"))) {
            for (Path task : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException threadGone) {
                    continue;
                }
                char state = stat.charAt(stat.lastIndexOf(')') + 2);
                if (state != 'T' && state != 't') return false;
            }
        }
        return true;
    }

    private static String line(String output, String prefix) {
        return output.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length()))
                .findFirst().orElse("(no '" + prefix.trim() + "' line)");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
