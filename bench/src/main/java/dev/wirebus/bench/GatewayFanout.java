package dev.wirebus.bench;

import dev.wirebus.bench.GatewaySubscribers.Protocol;
import dev.wirebus.client.BatchingPublisher;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.Gateway;
import dev.wirebus.gateway.GatewayLimits;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Fan-out through the HTTP gateway: one stream, {@code --subscribers} Server-Sent Events or
 * WebSocket subscribers (each its own HTTP connection), messages published at a paced rate
 * through a {@link BatchingPublisher} straight to the broker. Broker, gateway (on its own
 * {@link WirebusClient}, on the gateway's event loops, as {@code wirebus serve} runs it) and subscribers share this JVM; the
 * subscribers are one Netty event-loop thread ({@link GatewaySubscribers}).
 *
 * <p>Reports messages delivered per second over all subscribers, the slowest subscriber's rate,
 * the publish rate, and publish -> delivery latency (from the text {@code nanoTime} stamp each
 * payload starts with, stamped with the time the message was due: no coordinated omission), plus
 * the cores each thread role used.
 */
final class GatewayFanout implements Workload {
    static final String NAME = "gateway-fanout";
    static final String STREAM = "bench.gateway";
    /** The targets: total delivered msg/s with 1000 subscribers, and publish -> delivery p99. */
    static final double TARGET_RATE = 1_000_000;
    static final double TARGET_P99_US = 10_000;

    /** Options of gateway-fanout. */
    static final class Options {
        @Option(names = "--protocol", paramLabel = "sse|ws|both", defaultValue = "both",
                description = "Subscribers' protocol: Server-Sent Events, WebSocket, or both one after the other (default: ${DEFAULT-VALUE}).")
        String protocol;

        @Option(names = "--subscribers", defaultValue = "1000",
                description = "Subscribers, each on its own HTTP connection to the gateway (default: ${DEFAULT-VALUE}).")
        int subscribers;

        @Option(names = "--rate", paramLabel = "N[,N...]", defaultValue = "200,500,1000,2000", split = ",",
                description = "Messages published per second, paced; several give one figure each, a fresh broker and"
                        + " gateway for each (default: ${DEFAULT-VALUE}). Delivered msg/s offered = rate x subscribers.")
        List<Long> rates;

        @Option(names = "--max-lag", defaultValue = "5000",
                description = "The producer waits while this many messages are published but not yet received by the"
                        + " slowest subscriber, so a gateway that cannot keep up shows as a lower rate and a higher"
                        + " latency rather than as gigabytes queued for 1000 connections (default: ${DEFAULT-VALUE}).")
        long maxLag;

        @Option(names = "--gateway-io-threads", defaultValue = "0",
                description = "The gateway's event-loop threads, which also carry its broker connection (0: as wirebus serve,"
                        + " half the cores, at least 1) (default: ${DEFAULT-VALUE}).")
        int gatewayIoThreads;

        @Option(names = "--subscriber-buffer", defaultValue = "4194304",
                description = "The gateway's per-subscriber buffer in bytes (--http-subscriber-buffer) (default: ${DEFAULT-VALUE}, its default).")
        int subscriberBuffer;

        List<Protocol> protocols() {
            return switch (protocol.trim().toLowerCase(Locale.ROOT)) {
                case "both", "all" -> List.of(Protocol.SSE, Protocol.WS);
                default -> List.of(Protocol.parse(protocol));
            };
        }

        void validate() {
            protocols();
            if (subscribers < 1 || maxLag < 1 || gatewayIoThreads < 0 || subscriberBuffer < 4096) {
                throw new IllegalArgumentException("--subscribers and --max-lag must be at least 1,"
                        + " --gateway-io-threads not negative, --subscriber-buffer at least 4096");
            }
            for (long r : rates) {
                if (r < 1) {
                    throw new IllegalArgumentException("--rate must be at least 1 msg/s, was " + r);
                }
            }
        }
    }

    /** "gateway-fanout/sse/1000" */
    static String key(Protocol p, long rate) {
        return NAME + "/" + p.label() + "/" + rate;
    }

    static List<Bench.Job> jobs(BenchOptions o, Options g, List<Transport> transports) {
        List<Bench.Job> jobs = new ArrayList<>();
        for (Protocol p : g.protocols()) {
            for (long rate : g.rates) {
                jobs.add(new Bench.Job(key(p, rate), NAME + "/" + p.label() + ": " + g.subscribers + " subscribers, "
                        + Sample.rate(rate) + " msg/s published (" + Sample.rate((double) rate * g.subscribers)
                        + " msg/s to deliver), max lag " + g.maxLag,
                        a -> new GatewayFanout(o, g, p, rate, a), null, transports));
            }
        }
        return jobs;
    }

    private final BenchOptions o;
    private final io.netty.channel.EventLoopGroup loops;
    private final WirebusClient gatewayClient;
    private final Gateway gateway;
    private final GatewaySubscribers subscribers;
    private final BatchingPublisher pub;
    private final Load load = new Load();
    private final Recorder latency = new Recorder(Sample.HIGHEST_NANOS, 3);

    GatewayFanout(BenchOptions o, Options g, Protocol protocol, long rate, String address) {
        this.o = o;
        // the gateway as `wirebus serve` runs it: its own client of the broker on the gateway's event
        // loops, default settings but the limits
        this.loops = Gateway.newEventLoopGroup(g.gatewayIoThreads > 0 ? g.gatewayIoThreads
                : Gateway.threadsBesideBroker()); // serve's default
        this.gatewayClient = WirebusClient.builder().address(address).name("bench-gateway")
                .dispatchExecutor(Gateway.clientDispatchExecutor()).eventLoop(loops.next()).connect();
        Gateway gw = null;
        GatewaySubscribers subs = null;
        BatchingPublisher p = null;
        try {
            GatewayLimits limits = GatewayLimits.builder()
                    .rateLimit(1_000_000_000L, Duration.ofSeconds(1)) // 1000 connections from one IP at once
                    .maxConnections(g.subscribers + 64)
                    .subscriberBufferBytes(g.subscriberBuffer)
                    .build();
            gw = Gateway.builder().client(gatewayClient).bind("127.0.0.1", 0).limits(limits)
                    .eventLoopGroup(loops).build().start();
            subs = new GatewaySubscribers(protocol, "127.0.0.1", gw.port(), STREAM, g.subscribers, o.timeout, load,
                    latency);
            p = BatchingPublisher.builder().address(address).name("bench-publisher")
                    .blockTimeout(o.timeout).requestTimeout(o.timeout).errorListener(load::fail).build();
        } catch (RuntimeException e) {
            if (subs != null) {
                subs.close();
            }
            if (gw != null) {
                gw.close();
            }
            gatewayClient.close();
            loops.shutdownGracefully();
            throw e;
        }
        this.gateway = gw;
        this.subscribers = subs;
        this.pub = p;
        load.start("bench-producer", new Producer(pub, STREAM, o.size, rate, g.maxLag, subscribers::slowest, load,
                o.timeout, true));
    }

    @Override
    public Sample measure(Duration window) {
        load.check();
        long[] s0 = subscribers.snapshot();
        long a0 = pub.ackedCount();
        latency.getIntervalHistogram(); // drop what came before the window
        ThreadCpu cpu = new ThreadCpu();
        long t0 = System.nanoTime();
        Waits.sleep(window);
        long[] s1 = subscribers.snapshot();
        long a1 = pub.ackedCount();
        Histogram h = latency.getIntervalHistogram();
        double secs = (System.nanoTime() - t0) / 1e9;
        String threads = cpu.describe();
        load.check();
        long total = 0;
        long min = Long.MAX_VALUE;
        for (int i = 0; i < s0.length; i++) {
            total += s1[i] - s0[i];
            min = Math.min(min, s1[i] - s0[i]);
        }
        Sample s = new Sample().put(Sample.RATE, total / secs).put("slowest_sub_" + Sample.RATE, min / secs)
                .put("published_" + Sample.RATE, (a1 - a0) / secs).percentiles("e2e_", h);
        s.note = threads;
        return s;
    }

    @Override
    public void close() {
        try {
            load.stop(o.timeout);
            pub.flush(o.timeout);
        } finally {
            pub.close();
            subscribers.close();
            gateway.close();
            gatewayClient.close();
            loops.shutdownGracefully().awaitUninterruptibly(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    /** The table after the runs: per protocol and rate, the medians against the targets. */
    static void print(PrintStream out, Runner runner, Options g, List<Transport> transports) {
        out.printf("%n== gateway-fanout summary: medians of %d run(s), %d subscribers; target >= %s delivered msg/s"
                        + " with publish -> delivery p99 <= %.0f ms%n", runner.o.runs, g.subscribers,
                Sample.rate(TARGET_RATE), TARGET_P99_US / 1000);
        out.printf("   %-4s %-4s %9s %11s %11s %11s %9s %9s %9s %9s  %s%n", "", "link", "rate", "offered/s",
                "delivered/s", "slowest/s", "p50_ms", "p99_ms", "p99.9_ms", "max_ms", "target");
        for (Protocol p : g.protocols()) {
            for (long rate : g.rates) {
                Map<Transport, Sample> m = runner.medians.get(key(p, rate));
                for (Transport t : transports) {
                    Sample s = m == null ? null : m.get(t);
                    double offered = (double) rate * g.subscribers;
                    if (s == null) {
                        out.printf("   %-4s %-4s %9s %11s %11s%n", p.label(), t, Sample.rate(rate), Sample.rate(offered),
                                "FAILED");
                        continue;
                    }
                    double delivered = s.get(Sample.RATE);
                    double p99 = s.get("e2e_" + Sample.P99);
                    String verdict;
                    if (offered < TARGET_RATE) {
                        verdict = (p99 <= TARGET_P99_US ? "p99 ok" : "p99 MISSED") + " (offers less than the target rate)";
                    } else {
                        verdict = delivered >= TARGET_RATE * 0.98 && p99 <= TARGET_P99_US ? "MET"
                                : "MISSED" + (delivered < TARGET_RATE * 0.98 ? " (rate)" : "")
                                + (p99 > TARGET_P99_US ? " (p99)" : "");
                    }
                    out.printf("   %-4s %-4s %9s %11s %11s %11s %9s %9s %9s %9s  %s%n", p.label(), t, Sample.rate(rate),
                            Sample.rate(offered), Sample.rate(delivered), Sample.rate(s.get("slowest_sub_" + Sample.RATE)),
                            ms(s.get("e2e_" + Sample.P50)), ms(p99), ms(s.get("e2e_" + Sample.P999)),
                            ms(s.get("e2e_" + Sample.MAX)), verdict);
                }
            }
        }
        out.println("   (rate = msg/s published; offered = rate x subscribers; MET needs >= 98 % of 1M delivered and p99 <= 10 ms)");
    }

    private static String ms(double us) {
        return Double.isNaN(us) ? "-" : String.format(Locale.ROOT, "%.2f", us / 1000);
    }
}
