package dev.wirebus.bench;

import io.netty.channel.epoll.Epoll;

import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Runs benchmarks: per transport a fresh broker, the workload, a warm-up, the runs (each printed),
 * and their median. Keeps every median for the summary; a failing benchmark is reported and the
 * others go on.
 */
final class Runner {
    final BenchOptions o;
    final PrintStream out;
    /** "publish-latency" -> transport -> median. */
    final Map<String, Map<Transport, Sample>> medians = new LinkedHashMap<>();
    final List<String> failures = new ArrayList<>();

    Runner(BenchOptions o, PrintStream out) {
        this.o = o;
        this.out = out;
    }

    static String clientIo() {
        return Epoll.isAvailable() ? "epoll" : "nio (epoll unavailable: " + Epoll.unavailabilityCause() + ")";
    }

    void printHeader(String command) {
        BrokerStore st = o.store();
        printHeader(command, o.transports(), st.label() + (st.disk() ? dataNote() : ""));
    }

    /** ", data in a fresh directory under /tmp, fsyncs counted (JFR)". */
    String dataNote() {
        return ", data in a fresh directory under " + (o.data == null ? "/tmp" : o.data)
                + (o.fsyncCount ? ", fsyncs counted (JFR)" : "");
    }

    /** The header, naming the transports and store(s) the command uses. */
    void printHeader(String command, List<Transport> transports, String stores) {
        Runtime rt = Runtime.getRuntime();
        String gcs = ManagementFactory.getGarbageCollectorMXBeans().stream().map(GarbageCollectorMXBean::getName)
                .collect(Collectors.joining("+"));
        out.printf("wirebus-bench %s: java %s, %d cpus, heap max %d MiB, gc %s, client io %s, %s%n", command,
                System.getProperty("java.version"), rt.availableProcessors(), rt.maxMemory() >> 20, gcs, clientIo(),
                Meter.load());
        out.printf("  broker %s%s, transports %s, payload %d B, warmup %s, %d run(s) x %s, wait %s%n", o.broker,
                o.brokerProcess ? " (separate process)" : "", transports, o.size, human(o.warmup), o.runs,
                human(o.duration), o.waitMode);
        if ("embedded".equals(o.broker)) {
            out.printf("  store %s%n", stores);
        }
    }

    static String human(java.time.Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
    }

    /** Runs one benchmark on every selected transport; {@code key} names it in the summary. */
    void run(String key, String title, Workload.Factory factory) {
        run(key, title, factory, o.store(), o.transports());
    }

    /**
     * Runs one benchmark on each of {@code transports}, against brokers keeping their streams in
     * {@code store}. With a disk store whose fsyncs are counted, each run also reports fsync/s.
     */
    void run(String key, String title, Workload.Factory factory, BrokerStore store, List<Transport> transports) {
        for (Transport t : transports) {
            out.printf("%n== %s  [%s]%n", title, t);
            try (BrokerSession broker = BrokerSession.open(o, t, store)) {
                if (broker == null) {
                    out.printf("   skipped: --broker %s has no %s address%n", o.broker, t);
                    continue;
                }
                out.printf("   %s, client io %s, %s, %s%n", broker.address, clientIo(), broker.description, Meter.load());
                try (Workload w = factory.open(broker.address)) {
                    if (!o.warmup.isZero()) {
                        Sample s = measure(w, broker, o.warmup);
                        out.printf("   warmup   %s%n", s.format());
                    }
                    List<Sample> runs = new ArrayList<>();
                    for (int i = 1; i <= o.runs; i++) {
                        Sample s = measure(w, broker, o.duration);
                        runs.add(s);
                        out.printf("   run %d/%d  %s%n", i, o.runs, s.format());
                    }
                    Sample median = Sample.median(runs);
                    out.printf("   MEDIAN   %s%n", median.format());
                    medians.computeIfAbsent(key, k -> new EnumMap<>(Transport.class)).put(t, median);
                }
            } catch (Exception | Error e) {
                // an Error too (a StackOverflowError in the client, say): report it, go on with the others
                failures.add(key + " [" + t + "]: " + e);
                out.printf("   FAILED   %s%n", e);
                if (!(e instanceof BenchException)) {
                    StackTraceElement[] st = e.getStackTrace();
                    for (int i = 0; i < Math.min(8, st.length); i++) {
                        out.println("      at " + st[i]);
                    }
                    if (st.length > 8) {
                        out.println("      ... " + (st.length - 8) + " more");
                    }
                }
            }
            out.flush();
        }
    }

    /** One window: the workload's figures, its GC/CPU note, and fsync/s when the broker's fsyncs are counted. */
    private static Sample measure(Workload w, BrokerSession broker, java.time.Duration window) throws Exception {
        Meter m = new Meter(broker.pid);
        long from = FsyncCounter.epochNanos();
        Sample s = w.measure(window);
        long to = FsyncCounter.epochNanos();
        s.note = s.note.isEmpty() ? m.describe() : m.describe() + "; " + s.note; // the workload's own context after
        long fsyncs = broker.fsyncs(from, to);
        if (fsyncs >= 0) {
            s.put(Sample.FSYNCS, fsyncs / ((to - from) / 1e9));
        }
        return s;
    }

    int exitCode() {
        if (!failures.isEmpty()) {
            out.printf("%n%d benchmark(s) failed:%n", failures.size());
            failures.forEach(f -> out.println("  " + f));
            return 1;
        }
        return 0;
    }
}
