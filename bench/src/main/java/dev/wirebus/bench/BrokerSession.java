package dev.wirebus.bench;

import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The broker one benchmark talks to on one transport: a fresh embedded broker, a fresh broker
 * process, or a running broker given by address. Fresh brokers keep runs independent: the streams
 * and retained messages of one benchmark never weigh on the next.
 */
final class BrokerSession implements AutoCloseable {
    /** Processes still running, destroyed by a shutdown hook if the benchmark dies. */
    private static final List<Process> LIVE = new ArrayList<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (LIVE) {
                LIVE.forEach(Process::destroyForcibly);
            }
        }, "bench-broker-reaper"));
    }

    final String address;
    /** What it is, for the report: "embedded, broker io epoll". */
    final String description;
    /** The broker process's pid when it runs as one, else -1. */
    final long pid;
    private final Broker embedded;
    private final Process process;
    private final Path directory;
    private final Duration timeout;

    private BrokerSession(String address, String description, long pid, Broker embedded, Process process,
                          Path directory, Duration timeout) {
        this.address = address;
        this.description = description;
        this.pid = pid;
        this.embedded = embedded;
        this.process = process;
        this.directory = directory;
        this.timeout = timeout;
    }

    /** A broker for {@code transport}, or null when a given --broker address list has none for it. */
    static BrokerSession open(BenchOptions o, Transport transport) throws IOException {
        if (!"embedded".equals(o.broker)) {
            for (String a : o.broker.split(",")) {
                String addr = a.trim();
                boolean tcp = addr.startsWith("tcp://");
                if (!addr.isEmpty() && (tcp == (transport == Transport.TCP))) {
                    return new BrokerSession(addr.contains("://") ? addr : "unix://" + addr, "external broker",
                            -1, null, null, null, o.timeout);
                }
            }
            return null;
        }
        Path dir = Files.createTempDirectory("wirebus-bench");
        Path socket = dir.resolve("wirebus.sock");
        try {
            return o.brokerProcess ? startProcess(o, transport, dir, socket) : startEmbedded(o, transport, dir, socket);
        } catch (IOException | RuntimeException e) {
            deleteTree(dir);
            throw e;
        }
    }

    private static BrokerSession startEmbedded(BenchOptions o, Transport transport, Path dir, Path socket)
            throws IOException {
        BrokerConfig.Builder b = BrokerConfig.builder().ioThreads(o.ioThreads).retentionMessages(o.retentionMessages)
                .shutdownGrace(Duration.ofSeconds(1));
        if (transport == Transport.UDS) {
            b.unixSocket(socket);
        } else {
            b.tcp(new InetSocketAddress("127.0.0.1", 0));
        }
        Broker broker = Broker.start(b.build());
        String address = transport == Transport.UDS ? "unix://" + broker.unixSocket()
                : "tcp://127.0.0.1:" + broker.tcpAddress().getPort();
        return new BrokerSession(address, "embedded broker (same JVM), broker io " + broker.transportName(), -1,
                broker, null, dir, o.timeout);
    }

    private static BrokerSession startProcess(BenchOptions o, Transport transport, Path dir, Path socket)
            throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        if (o.brokerJvmOpts != null) {
            for (String opt : o.brokerJvmOpts.trim().split("\\s+")) {
                if (!opt.isEmpty()) {
                    cmd.add(opt);
                }
            }
        } else {
            for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
                // not AlwaysPreTouch: a broker starts per benchmark and transport, and faulting in a
                // heap of GiBs takes seconds on this VM (half a minute when the host is busy); the
                // warm-up touches what the broker uses
                if ((arg.startsWith("-X") || arg.startsWith("-D")) && !arg.equals("-XX:+AlwaysPreTouch")) {
                    cmd.add(arg);
                }
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), BrokerMain.class.getName(),
                "--io-threads", Integer.toString(o.ioThreads),
                "--retention-messages", Long.toString(o.retentionMessages)));
        if (transport == Transport.UDS) {
            cmd.addAll(List.of("--uds", socket.toString()));
        } else {
            cmd.addAll(List.of("--tcp", "127.0.0.1:0"));
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        synchronized (LIVE) {
            LIVE.add(p);
        }
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith(BrokerMain.READY)) {
                        return line;
                    }
                }
                return null;
            } catch (IOException e) {
                return null;
            }
        }, r -> {
            Thread t = new Thread(r, "broker-stdout");
            t.setDaemon(true);
            t.start();
        });
        String line;
        try {
            line = Waits.await(ready, o.timeout.plusSeconds(60), "READY line from the broker process");
        } catch (BenchException e) {
            kill(p);
            throw e;
        }
        if (line == null) {
            kill(p);
            throw new BenchException("broker process exited before it was ready (exit code "
                    + (p.isAlive() ? "-" : p.exitValue()) + "): " + String.join(" ", cmd));
        }
        String io = field(line, "transport");
        String address = transport == Transport.UDS ? "unix://" + field(line, "uds") : "tcp://" + field(line, "tcp");
        return new BrokerSession(address, "broker process pid " + p.pid() + ", broker io " + io, p.pid(), null, p,
                dir, o.timeout);
    }

    private static String field(String line, String name) {
        for (String part : line.split(" ")) {
            if (part.startsWith(name + "=")) {
                return part.substring(name.length() + 1);
            }
        }
        throw new BenchException("broker READY line lacks " + name + "=: " + line);
    }

    private static void kill(Process p) {
        p.destroyForcibly();
        synchronized (LIVE) {
            LIVE.remove(p);
        }
    }

    @Override
    public void close() {
        if (embedded != null) {
            embedded.close();
        }
        if (process != null) {
            try {
                process.getOutputStream().close(); // the broker stops when its stdin ends
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    System.err.println("broker process " + process.pid() + " did not stop within "
                            + timeout.toMillis() + " ms; killing it");
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (IOException | InterruptedException e) {
                process.destroyForcibly();
            }
            synchronized (LIVE) {
                LIVE.remove(process);
            }
        }
        if (directory != null) {
            deleteTree(directory);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}
