package dev.wirebus.bench;

import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The broker one benchmark talks to on one transport: a fresh embedded broker, a fresh broker
 * process, or a running broker given by address. Fresh brokers keep runs independent: the streams
 * and retained messages of one benchmark never weigh on the next. A fresh broker with a disk store
 * gets a fresh data directory, deleted when the session closes.
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
    /** Protocol lines (WIREBUS-BROKER ...) the broker process printed after READY. */
    private final BlockingQueue<String> replies;
    private final List<Path> directories;
    private final Duration timeout;
    /** The fsync counter of this JVM when it hosts a disk broker and counts. */
    private final FsyncCounter counter;
    /** Whether the broker process counts its fsyncs. */
    private final boolean processCounts;

    private BrokerSession(String address, String description, long pid, Broker embedded, Process process,
                          BlockingQueue<String> replies, List<Path> directories, Duration timeout,
                          FsyncCounter counter, boolean processCounts) {
        this.address = address;
        this.description = description;
        this.pid = pid;
        this.embedded = embedded;
        this.process = process;
        this.replies = replies;
        this.directories = directories;
        this.timeout = timeout;
        this.counter = counter;
        this.processCounts = processCounts;
    }

    /** A broker for {@code transport} with the store of the options, or null (see the other open). */
    static BrokerSession open(BenchOptions o, Transport transport) throws IOException {
        return open(o, transport, o.store());
    }

    /**
     * A broker for {@code transport} keeping its streams in {@code store} (ignored for a running
     * broker given by address), or null when a given --broker address list has none for it.
     */
    static BrokerSession open(BenchOptions o, Transport transport, BrokerStore store) throws IOException {
        if (!"embedded".equals(o.broker)) {
            for (String a : o.broker.split(",")) {
                String addr = a.trim();
                boolean tcp = addr.startsWith("tcp://");
                if (!addr.isEmpty() && (tcp == (transport == Transport.TCP))) {
                    return new BrokerSession(addr.contains("://") ? addr : "unix://" + addr, "external broker",
                            -1, null, null, null, List.of(), o.timeout, null, false);
                }
            }
            return null;
        }
        List<Path> dirs = new ArrayList<>();
        try {
            Path dir = Files.createTempDirectory("wirebus-bench");
            dirs.add(dir);
            Path socket = dir.resolve("wirebus.sock");
            Path data = null;
            if (store.disk()) {
                data = Files.createTempDirectory(dataParent(o), "wirebus-bench-data");
                dirs.add(data);
            }
            return o.brokerProcess ? startProcess(o, transport, store, dirs, socket, data)
                    : startEmbedded(o, transport, store, dirs, socket, data);
        } catch (IOException | RuntimeException e) {
            dirs.forEach(BrokerSession::deleteTree);
            throw e;
        }
    }

    /** Where fresh data directories go: --data, else /tmp (where shared/floor measures fdatasync). */
    private static Path dataParent(BenchOptions o) throws IOException {
        if (o.data != null) {
            return Files.createDirectories(o.data);
        }
        Path tmp = Path.of("/tmp");
        return Files.isDirectory(tmp) ? tmp : Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static BrokerSession startEmbedded(BenchOptions o, Transport transport, BrokerStore store, List<Path> dirs,
                                               Path socket, Path data) throws IOException {
        BrokerConfig.Builder b = BrokerConfig.builder().ioThreads(o.ioThreads).retentionMessages(o.retentionMessages)
                .shutdownGrace(Duration.ofSeconds(1));
        store.apply(b, data);
        // before the broker opens its files, so that JFR sees every force from the first
        FsyncCounter counter = store.disk() && o.fsyncCount ? FsyncCounter.get() : null;
        if (transport == Transport.UDS) {
            b.unixSocket(socket);
        } else {
            b.tcp(new InetSocketAddress("127.0.0.1", 0));
        }
        Broker broker = Broker.start(b.build());
        String address = transport == Transport.UDS ? "unix://" + broker.unixSocket()
                : "tcp://127.0.0.1:" + broker.tcpAddress().getPort();
        return new BrokerSession(address, "embedded broker (same JVM), broker io " + broker.transportName() + ", store "
                + broker.storageDescription(), -1, broker, null, null, dirs, o.timeout, counter, false);
    }

    private static BrokerSession startProcess(BenchOptions o, Transport transport, BrokerStore store, List<Path> dirs,
                                              Path socket, Path data) throws IOException {
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
        cmd.addAll(store.args(data));
        boolean counts = store.disk() && o.fsyncCount;
        if (counts) {
            cmd.add("--count-fsyncs");
        }
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
        CompletableFuture<String> ready = new CompletableFuture<>();
        CompletableFuture<String> storage = new CompletableFuture<>();
        BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        // reads the broker's standard output to its end, so that the process never blocks on a full pipe
        Thread reader = new Thread(() -> {
            try {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.startsWith(BrokerMain.READY)) {
                        ready.complete(line);
                    } else if (line.startsWith(BrokerMain.STORAGE)) {
                        storage.complete(line.substring(BrokerMain.STORAGE.length()).trim());
                    } else if (line.startsWith("WIREBUS-BROKER ")) {
                        replies.add(line);
                    }
                }
            } catch (IOException e) {
                // the process is gone; the end is handled below
            }
            ready.complete(null);
        }, "broker-stdout");
        reader.setDaemon(true);
        reader.start();
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
        return new BrokerSession(address, "broker process pid " + p.pid() + ", broker io " + io + ", store "
                + storage.getNow("?"), p.pid(), null, p, replies, dirs, o.timeout, null, counts);
    }

    /**
     * The fsyncs the broker started in [{@code fromEpochNanos}, {@code toEpochNanos}), or -1 when
     * they are not counted (a memory store, a running broker given by address, --no-fsync-count)
     * or the count did not come within the timeout. Takes up to about a second (see {@link FsyncCounter}).
     */
    long fsyncs(long fromEpochNanos, long toEpochNanos) {
        if (counter != null) {
            return counter.count(fromEpochNanos, toEpochNanos, timeout);
        }
        if (!processCounts || !process.isAlive()) {
            return -1;
        }
        try {
            replies.clear();
            OutputStream in = process.getOutputStream();
            in.write(("fsyncs " + fromEpochNanos + " " + toEpochNanos + "\n").getBytes(StandardCharsets.US_ASCII));
            in.flush();
            String reply = replies.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (reply == null || !reply.startsWith(BrokerMain.FSYNCS)) {
                return -1;
            }
            return Long.parseLong(reply.substring(BrokerMain.FSYNCS.length()).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
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
        directories.forEach(BrokerSession::deleteTree);
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}
