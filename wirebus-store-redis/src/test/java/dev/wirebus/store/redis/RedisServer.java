package dev.wirebus.store.redis;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real redis-server process on a free port with its own directory, for tests: started with AOF
 * {@code appendfsync always} unless told otherwise, stopped (SIGKILL or SHUTDOWN) and started again
 * on the same port and files. Tests that need it are skipped, saying so, when redis-server is not
 * installed ({@code apt-get install -y redis-server}).
 */
final class RedisServer implements AutoCloseable {
    private final Path dir;
    private final int port;
    private final List<String> extra;
    private Process process;

    private RedisServer(Path dir, int port, List<String> extra) {
        this.dir = dir;
        this.port = port;
        this.extra = extra;
    }

    /** The binary, or a skipped test naming what to install. */
    static String binary() {
        for (String p : List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server")) {
            if (Files.isExecutable(Path.of(p))) {
                return p;
            }
        }
        Assumptions.assumeTrue(false, "redis-server is not installed (apt-get install -y redis-server): skipped");
        return null;
    }

    static RedisServer start(Path dir, String... extra) throws IOException {
        RedisServer r = new RedisServer(dir, freePort(), List.of(extra));
        r.start();
        return r;
    }

    /** A Sentinel on {@code port} with {@code dir/sentinel.conf} (which it rewrites). */
    static RedisServer sentinel(Path dir, int port) throws IOException {
        RedisServer r = new RedisServer(dir, port, List.of());
        r.sentinelConf = dir.resolve("sentinel.conf");
        r.start();
        return r;
    }

    private Path sentinelConf;

    static RedisServer startOn(Path dir, int port, String... extra) throws IOException {
        RedisServer r = new RedisServer(dir, port, List.of(extra));
        r.start();
        return r;
    }

    /** Sends a command and returns its whole reply (for bulk replies such as CLUSTER INFO). */
    String commandBulk(String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.setSoTimeout(5000);
            StringBuilder b = new StringBuilder("*" + args.length + "\r\n");
            for (String a : args) {
                b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
            s.getOutputStream().write(b.toString().getBytes(StandardCharsets.UTF_8));
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(s.getInputStream(),
                    StandardCharsets.UTF_8));
            String head = in.readLine();
            if (head == null || !head.startsWith("$")) {
                return String.valueOf(head);
            }
            char[] body = new char[Integer.parseInt(head.substring(1))];
            int read = 0;
            while (read < body.length) {
                int n = in.read(body, read, body.length - read);
                if (n < 0) {
                    break;
                }
                read += n;
            }
            return new String(body, 0, read);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    int port() {
        return port;
    }

    Path dir() {
        return dir;
    }

    String uri() {
        return "redis://127.0.0.1:" + port;
    }

    void start() throws IOException {
        Files.createDirectories(dir);
        if (sentinelConf != null) {
            process = new ProcessBuilder(binary(), sentinelConf.toString(), "--sentinel").redirectErrorStream(true)
                    .redirectOutput(dir.resolve("sentinel.out").toFile()).start();
            awaitPing();
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(binary(), "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--dir", dir.toString(), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--daemonize", "no", "--logfile", dir.resolve("redis.log").toString()));
        cmd.addAll(extra);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("redis.out").toFile()).start();
        awaitPing();
    }

    /** Sends a command (inline protocol) and returns the first reply line. */
    String command(String... args) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            s.setSoTimeout(5000);
            StringBuilder b = new StringBuilder("*" + args.length + "\r\n");
            for (String a : args) {
                b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
            s.getOutputStream().write(b.toString().getBytes(StandardCharsets.UTF_8));
            StringBuilder line = new StringBuilder();
            int c;
            while ((c = s.getInputStream().read()) != -1 && c != '\n') {
                line.append((char) c);
            }
            return line.toString().trim();
        }
    }

    private void awaitPing() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("redis-server exited with " + process.exitValue() + " (see " + dir + ")");
            }
            try {
                if (command("PING").equals("+PONG")) {
                    return;
                }
            } catch (IOException e) {
                last = e;
            }
            try {
                process.waitFor(20, TimeUnit.MILLISECONDS); // poll the port until redis-server listens
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        throw new IOException("redis-server on port " + port + " did not answer PING within 20 s", last);
    }

    /** SIGKILL: what Redis had acknowledged is only what reached its AOF. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGSTOP / SIGCONT: Redis hangs (as behind a partition) and comes back. */
    void signal(String sig) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("kill -" + sig + " " + process.pid() + " failed");
        }
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            kill();
        }
    }
}
