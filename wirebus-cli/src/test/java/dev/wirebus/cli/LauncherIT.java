package dev.wirebus.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code ./wirebus} launcher at the repository root, run as a user would: a broker in one
 * process, clients in others, and SIGTERM to stop the broker.
 */
@Timeout(600)
class LauncherIT {
    /** The repository root: the parent of this module's directory, where tests run. */
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Path LAUNCHER = ROOT.resolve("wirebus");
    /** A launcher that finds its jar stale builds it first: allow for that. */
    private static final Duration FIRST_START = Duration.ofMinutes(5);
    private static final Duration CLIENT_RUN = Duration.ofMinutes(1);

    @TempDir
    Path dir;

    @Test
    void launcherServesClientsFromAnyDirectoryAndTheBrokerStopsCleanlyOnSigterm() throws Exception {
        assertThat(Files.isExecutable(LAUNCHER)).as(LAUNCHER + " is executable").isTrue();
        Path sock = dir.resolve("w.sock");
        Path serveErr = dir.resolve("serve.err");
        Process serve = new ProcessBuilder(LAUNCHER.toString(), "serve", "--uds", sock.toString(), "--tcp", "127.0.0.1:0",
                "--data", dir.resolve("data").toString(), "--http", "127.0.0.1:0")
                .directory(ROOT.toFile())
                .redirectError(serveErr.toFile())
                .start();
        try {
            Lines out = new Lines(serve.getInputStream());
            List<String> startup = out.readThrough("ready", FIRST_START, serveErr);
            assertThat(startup).contains("wirebus listening on unix://" + sock.toAbsolutePath(), "ready");
            String tcpLine = startup.stream().filter(l -> l.startsWith("wirebus listening on tcp://")).findFirst()
                    .orElseThrow(() -> new AssertionError("no TCP listener line in " + startup));
            String port = tcpLine.substring(tcpLine.lastIndexOf(':') + 1);
            assertThat(Integer.parseInt(port)).isPositive();
            assertThat(startup).anySatisfy(l -> assertThat(l).matches("wirebus http on http://127\\.0\\.0\\.1:[1-9]\\d*/"));

            Run pub = run(ROOT, "./wirebus", "pub", "--uds", sock.toString(), "demo", "hello", "world");
            assertThat(pub.exitCode()).as(pub.err()).isZero();
            assertThat(pub.out()).isEqualTo("1\n2\n");

            // from another working directory, through the launcher's absolute path, over TCP
            Run elsewhere = run(dir, LAUNCHER.toString(), "pub", "--tcp", "127.0.0.1:" + port, "demo", "again");
            assertThat(elsewhere.exitCode()).as(elsewhere.err()).isZero();
            assertThat(elsewhere.out()).isEqualTo("3\n");

            Run sub = run(ROOT, "./wirebus", "sub", "demo", "--uds", sock.toString(), "--count", "3");
            assertThat(sub.exitCode()).as(sub.err()).isZero();
            assertThat(sub.out()).isEqualTo("1\thello\n2\tworld\n3\tagain\n");

            // SIGTERM, straight to the JVM since the launcher exec'd it. Process.destroy() sends the same
            // signal but also closes our end of its stdout, which would hide the lines it prints while stopping
            assertThat(serve.toHandle().destroy()).isTrue();
            assertThat(serve.waitFor(30, TimeUnit.SECONDS)).as("serve exits after SIGTERM").isTrue();
            assertThat(serve.exitValue()).as(Files.readString(serveErr)).isZero();
            assertThat(out.readThrough("wirebus stopped", Duration.ofSeconds(10), serveErr)).isNotEmpty();
            assertThat(sock).doesNotExist();
        } finally {
            serve.destroyForcibly();
        }
    }

    private record Run(int exitCode, String out, String err) {
    }

    /** Runs a launcher command to its end, within {@link #CLIENT_RUN}. */
    private Run run(Path workingDir, String... command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(command).directory(workingDir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(CLIENT_RUN.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within " + CLIENT_RUN
                    + "; stdout: [" + Files.readString(out) + "], stderr: [" + Files.readString(err) + "]");
        }
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** A process's stdout, line by line, read on a daemon thread so that every wait can have a deadline. */
    private static final class Lines {
        private static final String EOF = new String("<eof>");
        private final BlockingQueue<String> queue = new LinkedBlockingQueue<>();

        Lines(InputStream in) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        queue.add(line);
                    }
                } catch (IOException ignored) {
                    // the process ended
                } finally {
                    queue.add(EOF);
                }
            }, "launcher-stdout");
            t.setDaemon(true);
            t.start();
        }

        /** The lines up to and including {@code last}; fails at the deadline or at the end of the output. */
        List<String> readThrough(String last, Duration deadline, Path stderr) throws InterruptedException, IOException {
            List<String> lines = new ArrayList<>();
            long end = System.nanoTime() + deadline.toNanos();
            while (true) {
                String line = queue.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (line == null || line == EOF) {
                    throw new AssertionError((line == null ? "no '" + last + "' within " + deadline : "output ended")
                            + "; stdout so far: " + lines + ", stderr: [" + Files.readString(stderr) + "]");
                }
                lines.add(line);
                if (line.equals(last)) {
                    return lines;
                }
            }
        }
    }
}
