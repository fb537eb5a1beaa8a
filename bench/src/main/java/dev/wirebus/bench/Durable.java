package dev.wirebus.bench;

import dev.wirebus.server.BrokerConfig.Durability;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code durable} benchmark: what acknowledged publishing costs on a disk store under each
 * durability policy, with a memory store beside it as the reference. Per policy, a fresh broker
 * for each of:
 * <ul>
 *   <li>{@code publisher}: acked msg/s through a {@link dev.wirebus.client.BatchingPublisher}
 *   (one PUBLISH_BATCH acknowledged after the fsync that covers it);</li>
 *   <li>{@code concurrent}: many callers sharing one client, one message each, each waiting for its
 *   ack ({@link ConcurrentPublish}): group commit, many producers per fsync;</li>
 *   <li>{@code latency}: one caller, publish -> ack, one at a time ({@link PublishLatency}).</li>
 * </ul>
 * With the broker's fsyncs counted ({@link FsyncCounter}), each run reports fsync/s, and the table
 * messages per fsync.
 */
final class Durable {
    static final String NAME = "durable";
    static final String PUBLISHER = "publisher";
    static final String CONCURRENT = "concurrent";
    static final String LATENCY = "latency";
    /** The target for the batch policy: acknowledged msg/s through the BatchingPublisher. */
    static final double BATCH_TARGET = 1.5e6;

    /** Options of the durable benchmark; named apart from {@link LoadOptions} so that {@code all} takes both. */
    static final class Options {
        @Option(names = "--policies", split = ",", defaultValue = "always,batch,never,memory",
                paramLabel = "POLICY",
                description = "durable: stores to measure, in this order: always, batch, never (disk, by durability)"
                        + " and memory (the reference) (default: ${DEFAULT-VALUE}).")
        List<String> policies;

        @Option(names = "--durable-workers", defaultValue = "1",
                description = "durable: BatchingPublisher workers, one connection each (default: ${DEFAULT-VALUE}).")
        int workers;

        @Option(names = "--durable-producers", defaultValue = "1",
                description = "durable: threads calling BatchingPublisher.send (default: ${DEFAULT-VALUE}).")
        int producers;

        @Option(names = "--durable-batch", defaultValue = "2000",
                description = "durable: messages per PUBLISH_BATCH (the publisher also caps a batch at 256 KiB)"
                        + " (default: ${DEFAULT-VALUE}).")
        int batch;

        @Option(names = "--durable-in-flight", defaultValue = "32",
                description = "durable: batches awaiting their ack per connection. An ack waits for an fsync (up to"
                        + " --sync-interval plus the fsync), so the window must hold that long's worth of messages"
                        + " (default: ${DEFAULT-VALUE}).")
        int inFlight;

        @Option(names = "--durable-queue", defaultValue = "65536",
                description = "durable: BatchingPublisher queue capacity in messages (default: ${DEFAULT-VALUE}).")
        int queue;

        @Option(names = "--concurrent-publishers", defaultValue = "64",
                description = "durable: threads sharing one client, each publishing one message and awaiting its ack"
                        + " (default: ${DEFAULT-VALUE}).")
        int publishers;

        void validate() {
            if (workers < 1 || producers < 1 || batch < 1 || inFlight < 1 || queue < 1 || publishers < 1) {
                throw new IllegalArgumentException("--durable-workers, --durable-producers, --durable-batch,"
                        + " --durable-in-flight, --durable-queue and --concurrent-publishers must be at least 1");
            }
            if (policies.isEmpty()) {
                throw new IllegalArgumentException("--policies needs at least one of always, batch, never, memory");
            }
            for (String p : policies) {
                store(p, java.time.Duration.ZERO);
            }
        }

        /** The publisher settings as the {@link PublishThroughput.Publisher} takes them. */
        LoadOptions load() {
            LoadOptions l = new LoadOptions();
            l.producers = producers;
            l.workers = workers;
            l.batch = batch;
            l.inFlight = inFlight;
            l.queue = queue;
            return l;
        }
    }

    private Durable() {
    }

    static BrokerStore store(String policy, java.time.Duration syncInterval) {
        return switch (policy.toLowerCase(Locale.ROOT)) {
            case "memory" -> BrokerStore.memory();
            case "always" -> BrokerStore.disk(Durability.ALWAYS, syncInterval);
            case "batch" -> BrokerStore.disk(Durability.BATCH, syncInterval);
            case "never" -> BrokerStore.disk(Durability.NEVER, syncInterval);
            default -> throw new IllegalArgumentException("--policies takes always, batch, never, memory; got " + policy);
        };
    }

    static String key(String policy, String what) {
        return NAME + "/" + policy.toLowerCase(Locale.ROOT) + "/" + what;
    }

    /** "disk always, disk batch 5ms, disk never, memory". */
    static String describe(BenchOptions o, Options d) {
        return String.join(", ", d.policies.stream().map(p -> store(p, o.syncInterval).label()).toList());
    }

    /** Three jobs per policy, each against fresh brokers of that store on {@code transports}. */
    static List<Bench.Job> jobs(BenchOptions o, Options d, List<Transport> transports) {
        List<Bench.Job> jobs = new ArrayList<>();
        LoadOptions l = d.load();
        for (String p : d.policies) {
            BrokerStore store = store(p, o.syncInterval);
            String label = store.label();
            jobs.add(new Bench.Job(key(p, PUBLISHER), NAME + " [" + label + "] acked publish: BatchingPublisher, "
                    + l.producers + " producer(s), " + l.workers + " worker(s), batches <= " + l.batch + ", "
                    + l.inFlight + " in flight", a -> new PublishThroughput.Publisher(o, l, a), store, transports));
            jobs.add(new Bench.Job(key(p, CONCURRENT), NAME + " [" + label + "] acked publish: " + d.publishers
                    + " threads sharing one client, one message each, awaiting its ack",
                    a -> new ConcurrentPublish(o, d.publishers, a), store, transports));
            jobs.add(new Bench.Job(key(p, LATENCY), NAME + " [" + label + "] publish -> ack: one caller, one at a time",
                    a -> new PublishLatency(o, a), store, transports));
        }
        return jobs;
    }

    /** The closing table: per transport, each figure per policy, medians of the runs. */
    static void print(PrintStream out, Runner r, Floor floor, Options d, List<Transport> transports) {
        BenchOptions o = r.o;
        List<String> policies = d.policies.stream().map(p -> p.toLowerCase(Locale.ROOT)).toList();
        for (Transport t : transports) {
            out.printf("%nDURABLE [%s]  median of %d run(s) x %s after %s warm-up, %d B payloads, broker %s%s;"
                            + " batch = fsync at most every %s; data under %s%n", t, o.runs, Runner.human(o.duration),
                    Runner.human(o.warmup), o.size, o.broker, o.brokerProcess ? " (separate process)" : "",
                    BenchOptions.format(o.syncInterval), o.data == null ? "/tmp" : o.data);
            StringBuilder fmt = new StringBuilder("%-46s");
            List<Object> head = new ArrayList<>(List.of("figure"));
            for (String p : policies) {
                fmt.append(" %12s");
                head.add(p.equals("memory") ? "memory" : "disk " + p);
            }
            fmt.append("%n");
            out.printf(fmt.toString(), head.toArray());
            String pub = "acked publish, BatchingPublisher (msg/s)";
            String conc = "acked publish, " + d.publishers + " callers x 1 msg (msg/s)";
            row(out, fmt, r, t, policies, pub, PUBLISHER, Sample.RATE);
            row(out, fmt, r, t, policies, "  fsync/s", PUBLISHER, Sample.FSYNCS);
            perFsync(out, fmt, r, t, policies, PUBLISHER);
            row(out, fmt, r, t, policies, conc, CONCURRENT, Sample.RATE);
            row(out, fmt, r, t, policies, "  fsync/s", CONCURRENT, Sample.FSYNCS);
            perFsync(out, fmt, r, t, policies, CONCURRENT);
            row(out, fmt, r, t, policies, "  publish->ack p50 per caller (us)", CONCURRENT, Sample.P50);
            row(out, fmt, r, t, policies, "publish->ack, 1 caller, p50 (us)", LATENCY, Sample.P50);
            row(out, fmt, r, t, policies, "publish->ack, 1 caller, p99 (us)", LATENCY, Sample.P99);
            row(out, fmt, r, t, policies, "publish->ack, 1 caller, p99.9 (us)", LATENCY, Sample.P999);

            double batch = value(r, t, "batch", PUBLISHER, Sample.RATE);
            if (!Double.isNaN(batch)) {
                out.printf("target (issue): disk batch, BatchingPublisher >= %s acked msg/s: %s %s%n",
                        Sample.rate(BATCH_TARGET), Sample.rate(batch), batch >= BATCH_TARGET ? "MET" : "MISSED");
            }
            if (floor != null && floor.fdatasyncP50 != null) {
                double always = value(r, t, "always", LATENCY, Sample.P50);
                out.printf("floor (this sitting): fdatasync-append-4KiB p50 %s us%s%n",
                        Sample.formatValue(Sample.P50, floor.fdatasyncP50), Double.isNaN(always) ? ""
                                : String.format(Locale.ROOT, "; disk always publish->ack p50 = %.2fx that",
                                always / floor.fdatasyncP50));
            } else {
                out.println("(no fdatasync floor: run via bench/run.sh, or pass --floor-file with shared/floor/run.sh output)");
            }
        }
        out.println("quoted from the issue, not measured here: Redis 7 AOF appendfsync everysec ~0.27M msg/s;"
                + " NATS JetStream async publish ~0.1M msg/s");
        if (!o.fsyncCount) {
            out.println("(fsyncs not counted: --no-fsync-count)");
        }
    }

    private static void row(PrintStream out, StringBuilder fmt, Runner r, Transport t, List<String> policies,
                            String label, String what, String key) {
        List<Object> cells = new ArrayList<>(List.of(label));
        boolean any = false;
        for (String p : policies) {
            double v = value(r, t, p, what, key);
            any |= !Double.isNaN(v);
            cells.add(Sample.formatValue(key, v));
        }
        if (any) {
            out.printf(fmt.toString(), cells.toArray());
        }
    }

    private static void perFsync(PrintStream out, StringBuilder fmt, Runner r, Transport t, List<String> policies,
                                 String what) {
        List<Object> cells = new ArrayList<>(List.of("  messages per fsync"));
        boolean any = false;
        for (String p : policies) {
            double rate = value(r, t, p, what, Sample.RATE);
            double fsyncs = value(r, t, p, what, Sample.FSYNCS);
            if (Double.isNaN(rate) || Double.isNaN(fsyncs) || fsyncs <= 0) {
                cells.add("-");
            } else {
                any = true;
                cells.add(String.format(Locale.ROOT, "%,.0f", rate / fsyncs));
            }
        }
        if (any) {
            out.printf(fmt.toString(), cells.toArray());
        }
    }

    private static double value(Runner r, Transport t, String policy, String what, String key) {
        Map<Transport, Sample> m = r.medians.get(key(policy, what));
        Sample s = m == null ? null : m.get(t);
        return s == null ? Double.NaN : s.get(key);
    }
}
