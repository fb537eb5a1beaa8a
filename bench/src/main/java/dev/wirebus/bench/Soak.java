package dev.wirebus.bench;

import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongFunction;

/**
 * Every abuse of issue 11 at once against a {@code wirebus serve} process, while a checker
 * publishes, reads its messages back and asks the gateway for {@code /healthz}: clients that send
 * PINGs or FETCHes and never read, frames that never complete, connection floods from one address,
 * idle connections, pipelined HTTP GETs never read, slow-loris HTTP headers. Reports the broker's
 * peak RSS and open file descriptors (from /proc), the checker's publish latency percentiles, any
 * gap or error it saw, and the broker's limit counters from /metrics.
 *
 * <pre>{@code
 * bench/soak.sh --duration 3m
 * }</pre>
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
        description = "Runs every abuse of issue 11 at once against a broker process while a checker publishes and reads.")
public final class Soak implements Callable<Integer> {
    @Option(names = "--jar", defaultValue = "wirebus-cli/target/wirebus.jar", description = "The wirebus CLI jar.")
    Path jar;

    @Option(names = "--duration", defaultValue = "3m", converter = BenchOptions.DurationConverter.class,
            description = "How long the abuses run (default: 3m).")
    Duration duration;

    @Option(names = "--broker-jvm-opts", defaultValue = "-Xmx1g -XX:+UseG1GC",
            description = "JVM options of the broker process.")
    String brokerJvmOpts;

    private volatile boolean running = true;
    private final Set<java.io.Closeable> open = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicLong> events = new ConcurrentHashMap<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new Soak()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("wirebus-soak");
        Path sock = dir.resolve("wirebus.sock");
        int tcpPort = freePort();
        int httpPort = freePort();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(brokerJvmOpts.trim().split("\\s+")));
        cmd.addAll(List.of("-jar", jar.toString(), "serve", "--store", "memory", "--uds", sock.toString(),
                "--tcp", "127.0.0.1:" + tcpPort, "--http", "127.0.0.1:" + httpPort,
                "--slow-consumer-timeout", "5s", "--frame-read-timeout", "2s", "--idle-timeout", "10s",
                "--handshake-timeout", "5s", "--max-connections", "1000", "--max-connections-per-peer", "300",
                "--http-idle-timeout", "10s", "--http-header-timeout", "3s", "--http-rate-limit", "100000/s"));
        Process broker = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        long pid = broker.pid();
        BufferedReader out = new BufferedReader(new InputStreamReader(broker.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.equals("ready")) {
            System.out.println("broker: " + line);
        }
        if (line == null) {
            System.err.println("the broker exited before 'ready'");
            return 1;
        }
        Thread drain = new Thread(() -> {
            try {
                while (out.readLine() != null) {
                    // the broker's log: discarded (its WARN/INFO lines about closed abusers are many)
                }
            } catch (IOException e) {
                // the broker exited
            }
        }, "broker-output");
        drain.setDaemon(true);
        drain.start();

        List<Thread> threads = new ArrayList<>();
        Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
        AtomicLong checkerErrors = new AtomicLong();
        AtomicLong gaps = new AtomicLong();
        AtomicLong received = new AtomicLong();
        AtomicLong healthFailures = new AtomicLong();
        try (WirebusClient checker = WirebusClient.builder().address("tcp://127.0.0.1:" + tcpPort).name("checker")
                .connect()) {
            checker.publish("big", new byte[100_000]).get(10, TimeUnit.SECONDS);
            AtomicLong expected = new AtomicLong(1);
            Subscription sub = checker.subscribe("soak", StartPosition.sequence(1), m -> {
                if (m.sequence() != expected.getAndIncrement()) {
                    gaps.incrementAndGet();
                    expected.set(m.sequence() + 1);
                }
                received.incrementAndGet();
            });
            // the abuses
            for (int i = 0; i < 4; i++) {
                threads.add(start("ping-flood", () -> flood(uds(sock), n -> new Frame.Ping(n))));
                threads.add(start("fetch-flood", () -> flood(uds(sock), n -> new Frame.Fetch(n, "big", 1, 1))));
            }
            for (int i = 0; i < 16; i++) {
                threads.add(start("partial-frame", () -> partialFrame(uds(sock))));
            }
            for (int i = 0; i < 32; i++) {
                threads.add(start("connection-flood", () -> holdIdle(tcpPort, 12))); // 384 > 300 per peer
            }
            for (int i = 0; i < 60; i++) {
                threads.add(start("http-pipelined", () -> httpPipelined(httpPort)));
            }
            for (int i = 0; i < 10; i++) {
                threads.add(start("http-slow-loris", () -> slowLoris(httpPort)));
            }
            // the checker and the monitor, in this thread and one more
            long peakRss = 0;
            int peakFds = 0;
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            Thread health = new Thread(() -> {
                HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/healthz"))
                        .timeout(Duration.ofSeconds(5)).build();
                while (running) {
                    try {
                        if (http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode() != 200) {
                            healthFailures.incrementAndGet();
                        }
                    } catch (IOException e) {
                        healthFailures.incrementAndGet();
                    } catch (InterruptedException e) {
                        return;
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200)); // pacing, not synchronisation
                }
            }, "health");
            health.setDaemon(true);
            health.start();
            long end = System.nanoTime() + duration.toNanos();
            long nextSample = 0;
            long published = 0;
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                try {
                    checker.publish("soak", ("m" + published).getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
                    latency.recordValue(Math.min(System.nanoTime() - t0, latency.getHighestTrackableValue()));
                    published++;
                } catch (Exception e) {
                    checkerErrors.incrementAndGet();
                }
                if (System.nanoTime() >= nextSample) {
                    peakRss = Math.max(peakRss, rssKiB(pid));
                    peakFds = Math.max(peakFds, fds(pid));
                    nextSample = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2)); // ~400 publishes/s: a paced checker
            }
            running = false;
            long target = published;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received.get() < target && System.nanoTime() < deadline) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            String metrics = scrape(http, httpPort);
            sub.close();
            for (java.io.Closeable c : open) {
                try {
                    c.close();
                } catch (IOException e) {
                    // closing abusers
                }
            }
            for (Thread t : threads) {
                t.join(5000);
            }
            health.join(5000);
            System.out.printf("soak: %s of abuse; broker pid %d%n", duration, pid);
            System.out.printf("broker peak RSS %.1f MiB, peak open fds %d%n", peakRss / 1024.0, peakFds);
            System.out.printf("checker: %d publishes acknowledged, %d errors; received %d, gaps %d; "
                            + "publish latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms%n",
                    published, checkerErrors.get(), received.get(), gaps.get(),
                    latency.getValueAtPercentile(50) / 1e6, latency.getValueAtPercentile(99) / 1e6,
                    latency.getValueAtPercentile(99.9) / 1e6, latency.getMaxValue() / 1e6);
            System.out.printf("gateway /healthz failures: %d%n", healthFailures.get());
            System.out.println("abuser events: " + new TreeMap<>(events));
            metrics.lines().filter(l -> !l.startsWith("#") && (l.startsWith("wirebus_connections_closed_total")
                            || l.startsWith("wirebus_connections_refused_total")
                            || l.startsWith("wirebus_http_rejections_total") && !l.endsWith(" 0.0")
                            || l.startsWith("wirebus_http_connections_paused")))
                    .forEach(l -> System.out.println("metric " + l));
            return checkerErrors.get() == 0 && gaps.get() == 0 && received.get() >= published ? 0 : 1;
        } finally {
            running = false;
            broker.destroy();
            broker.waitFor(10, TimeUnit.SECONDS);
            broker.destroyForcibly();
        }
    }

    private interface Abuse {
        void run() throws IOException;
    }

    private Thread start(String name, Abuse abuse) {
        Thread t = new Thread(() -> {
            while (running) {
                try {
                    abuse.run();
                    count(name + ".cut");
                } catch (IOException e) {
                    count(name + ".cut");
                } catch (RuntimeException e) {
                    count(name + ".failed");
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
                }
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void count(String event) {
        events.computeIfAbsent(event, k -> new AtomicLong()).incrementAndGet();
    }

    private SocketChannel uds(Path sock) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(sock));
        open.add(ch);
        return ch;
    }

    private SocketChannel tcpFrom(String source, int port) throws IOException {
        SocketChannel ch = SocketChannel.open();
        ch.bind(new InetSocketAddress(InetAddress.getByName(source), 0));
        ch.connect(new InetSocketAddress("127.0.0.1", port));
        open.add(ch);
        return ch;
    }

    private static byte[] encode(Frame f) {
        ByteBuf buf = FrameCodec.encode(f, UnpooledByteBufAllocator.DEFAULT);
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private static void write(SocketChannel ch, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** HELLO, then frames in 64 KiB chunks, never reading, until the broker hangs up. */
    private void flood(SocketChannel ch, LongFunction<Frame> frame) throws IOException {
        try (ch) {
            write(ch, encode(new Frame.Hello(1, 1, 1, "flood")));
            long n = 2;
            while (running) {
                ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
                while (true) {
                    byte[] f = encode(frame.apply(n++));
                    if (chunk.remaining() < f.length) {
                        break;
                    }
                    chunk.put(f);
                }
                write(ch, java.util.Arrays.copyOf(chunk.array(), chunk.position()));
            }
        } finally {
            open.remove(ch);
        }
    }

    /** HELLO, a header announcing 8 MiB and 1000 bytes of it, then nothing until the broker hangs up. */
    private void partialFrame(SocketChannel ch) throws IOException {
        try (ch) {
            write(ch, encode(new Frame.Hello(1, 1, 1, "partial")));
            ByteBuffer b = ByteBuffer.allocate(1004);
            b.putInt(8 * 1024 * 1024 - 16).put((byte) 0x10);
            write(ch, b.array());
            readToEnd(ch);
        } finally {
            open.remove(ch);
        }
    }

    /**
     * {@code count} connections from 127.0.0.2, each HELLO and then silence, held until the broker
     * closes them (idle timeout) or refuses them (the per-peer cap).
     */
    private void holdIdle(int port, int count) throws IOException {
        List<SocketChannel> held = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            for (int i = 0; i < count && running; i++) {
                SocketChannel ch = tcpFrom("127.0.0.2", port);
                held.add(ch);
                write(ch, encode(new Frame.Hello(1, 1, 1, "idle")));
            }
            for (SocketChannel ch : held) {
                try {
                    readToEnd(ch);
                } catch (IOException e) {
                    // reset by the broker: the same as closed
                }
            }
        } finally {
            for (SocketChannel ch : held) {
                ch.close();
                open.remove(ch);
            }
        }
        if (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(1)) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // all refused at once: pace the flood a little
        }
    }

    private static void readToEnd(SocketChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(64 * 1024);
        while (ch.read(b) >= 0) {
            b.clear();
        }
    }

    /** 30 pipelined GETs of a 100 kB message, never reading the answers; again every few seconds. */
    private void httpPipelined(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(4096);
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            open.add(s);
            OutputStream out = s.getOutputStream();
            byte[] requests = "GET /v1/streams/big/messages?from=1&limit=1&encoding=base64 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    .repeat(30).getBytes(StandardCharsets.ISO_8859_1);
            while (running) {
                out.write(requests);
                out.flush();
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(3)); // pacing
            }
        } finally {
            open.removeIf(c -> c instanceof Socket so && so.isClosed());
        }
    }

    /** Half a request's headers, then nothing until the gateway closes the connection. */
    private void slowLoris(int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            open.add(s);
            s.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1".getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            byte[] b = new byte[4096];
            while (s.getInputStream().read(b) >= 0) {
                // the 408, then the end
            }
        } finally {
            open.removeIf(c -> c instanceof Socket so && so.isClosed());
        }
    }

    private static String scrape(HttpClient http, int port) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    private static long rssKiB(long pid) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException e) {
            // the process is gone
        }
        return 0;
    }

    private static int fds(long pid) {
        String[] names = Path.of("/proc", Long.toString(pid), "fd").toFile().list();
        return names == null ? 0 : names.length;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
