package dev.wirebus.bench;

import dev.wirebus.bench.GatewaySubscribers.Protocol;
import dev.wirebus.client.BatchingPublisher;
import io.netty.channel.EventLoopGroup;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Fan-out across wirebus nodes on one Redis (issue 15), for {@code bench/redis-fanout.sh}: the
 * nodes are separate {@code wirebus serve --store redis://...} processes, each with its HTTP
 * gateway; this process holds the subscribers (SSE or WebSocket, {@link GatewaySubscribers}, split
 * evenly over the nodes' gateways, on {@code --subscriber-threads} event loops) and a paced publisher
 * ({@link BatchingPublisher} to node 0's broker over TCP). It finds the highest published rate the
 * nodes deliver to every subscriber without falling behind: after a warm-up, the {@code --rates} are
 * stepped up until one falls behind (in {@code 1 + --retries} windows in a row), then {@code --refine}
 * steps bisect (geometrically) between the last rate kept up and the first one not, the backlog
 * drained before each.
 *
 * <p>Each step prints delivered msg/s over all subscribers and per node, the slowest subscriber, the
 * publish rate, publish -> delivery p50/p99 per node (from the nanoTime stamp each payload starts
 * with; publisher and subscribers are in this process, and on Linux {@code System.nanoTime} is
 * CLOCK_MONOTONIC, one clock for every process on the machine), the CPU each node process, Redis and
 * this process used (from {@code /proc/PID/stat}), per node its CPU seconds per million messages it
 * delivered, and each CPU's load. Then one {@code RESULT} line per run, appended to {@code --results},
 * which {@code summary} turns into medians and ratios ({@link RedisFanoutSummary}).
 *
 * <pre>{@code
 * java -cp wirebus-bench.jar dev.wirebus.bench.RedisFanout run --protocol sse \
 *     --gateways 127.0.0.1:8001,127.0.0.1:8002 --broker tcp://127.0.0.1:7441 --node-pids 101,102
 * java -cp wirebus-bench.jar dev.wirebus.bench.RedisFanout summary results.txt
 * }</pre>
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "One run: subscribers on the nodes' gateways, publishing through node 0 at stepped rates.")
public final class RedisFanout implements Callable<Integer> {
    static final String STREAM = "bench.fanout";
    /** Kept up: at least these shares of the rate sent by the pacer and of all deliveries due (rate x subscribers). */
    static final double KEPT_PUBLISHED = 0.97;
    static final double KEPT_DELIVERED = 0.97;

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Top());
        cli.addSubcommand("run", new RedisFanout());
        cli.addSubcommand("summary", new RedisFanoutSummary());
        System.exit(cli.execute(args));
    }

    /** The command holding {@code run} and {@code summary}. */
    @Command(name = "redis-fanout", mixinStandardHelpOptions = true,
            description = "Fan-out to SSE/WebSocket subscribers across wirebus nodes on one Redis (bench/redis-fanout.sh).")
    static final class Top implements Runnable {
        @Override
        public void run() {
            new CommandLine(this).usage(System.out);
        }
    }

    @Option(names = "--protocol", required = true, paramLabel = "sse|ws", description = "Subscribers' protocol.")
    String protocol;

    @Option(names = "--gateways", required = true, split = ",", paramLabel = "HOST:PORT[,...]",
            description = "The nodes' HTTP gateways, node 0 first; the subscribers are split evenly over them.")
    List<String> gateways;

    @Option(names = "--broker", required = true, paramLabel = "tcp://HOST:PORT",
            description = "Node 0's broker: the publisher publishes there.")
    String broker;

    @Option(names = "--node-pids", split = ",", paramLabel = "PID[,...]",
            description = "The nodes' process ids, in --gateways order, for their CPU time (default: none).")
    List<Long> nodePids = new ArrayList<>();

    @Option(names = "--redis-pid", defaultValue = "0", description = "redis-server's process id, for its CPU time.")
    long redisPid;

    @Option(names = "--subscribers", defaultValue = "1000", description = "Subscribers in all (default: ${DEFAULT-VALUE}).")
    int subscribers;

    @Option(names = "--rates", split = ",", defaultValue = "200,400,800,1600,3200", paramLabel = "N[,N...]",
            description = "Published msg/s, stepped up until one falls behind (default: ${DEFAULT-VALUE}).")
    List<Long> rates;

    @Option(names = "--refine", defaultValue = "2",
            description = "Steps bisecting between the last rate kept up and the first not (default: ${DEFAULT-VALUE}).")
    int refine;

    @Option(names = "--warmup", defaultValue = "5s", converter = BenchOptions.DurationConverter.class,
            description = "At the first rate, before the steps (default: ${DEFAULT-VALUE}).")
    Duration warmup;

    @Option(names = "--settle", defaultValue = "1s", converter = BenchOptions.DurationConverter.class,
            description = "After each change of rate, not measured (default: ${DEFAULT-VALUE}).")
    Duration settle;

    @Option(names = "--window", defaultValue = "2s", converter = BenchOptions.DurationConverter.class,
            description = "Measured per step (default: ${DEFAULT-VALUE}).")
    Duration window;

    @Option(names = "--retries", defaultValue = "1",
            description = "A step that fell behind is measured again, window after window, up to this many times: it"
                    + " fell behind only if the last window did (a stall of the shared machine is not the nodes'"
                    + " capacity) (default: ${DEFAULT-VALUE}).")
    int retries;

    @Option(names = "--size", defaultValue = "100", description = "Payload bytes, at least 19 (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--max-lag", defaultValue = "2000",
            description = "The publisher waits while the slowest subscriber is this many messages behind"
                    + " (default: ${DEFAULT-VALUE}).")
    long maxLag;

    @Option(names = "--latency-limit", defaultValue = "1s", converter = BenchOptions.DurationConverter.class,
            description = "A step fell behind when its publish -> delivery p99 (all subscribers) exceeds this, or when"
                    + " the slowest subscriber is more than this many seconds of messages behind at its end"
                    + " (default: ${DEFAULT-VALUE}).")
    Duration latencyLimit;

    @Option(names = "--subscriber-threads", defaultValue = "1",
            description = "Event loops carrying all subscribers' connections (default: ${DEFAULT-VALUE}).")
    int subscriberThreads;

    @Option(names = "--timeout", defaultValue = "10s", converter = BenchOptions.DurationConverter.class,
            description = "Deadline of every single wait (connect, subscribe, ack, drain) (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--clk-tck", defaultValue = "100", description = "Clock ticks per second of /proc (getconf CLK_TCK).")
    int clkTck;

    @Option(names = "--label", defaultValue = "", description = "Added to the RESULT line, e.g. run=2.")
    String label;

    @Option(names = "--results", description = "File the RESULT line is appended to (default: stdout only).")
    Path results;

    private final Load load = new Load();
    private Recorder[] recorders;
    private GatewaySubscribers[] subs;
    private Pacer pacer;
    private BatchingPublisher pub;

    /** One measured step. */
    record Step(long rate, double offered, double published, double delivered, double slowest, long[] nodeMessages,
                Histogram all, Histogram[] nodes, double[] nodeCpuSecs, double redisCpuSecs, double selfCpuSecs,
                double[] cpuBusy, double secs, String behind) {
        boolean keptUp() {
            return behind == null;
        }

        /** CPU seconds of all nodes per million messages they delivered. */
        double nodesCpuPerMillion() {
            double cpu = 0;
            long n = 0;
            for (int i = 0; i < nodeCpuSecs.length; i++) {
                if (nodeCpuSecs[i] < 0) {
                    return Double.NaN;
                }
                cpu += nodeCpuSecs[i];
                n += nodeMessages[i];
            }
            return n == 0 ? Double.NaN : cpu / (n / 1e6);
        }

        double perMillion(double cpuSecs) {
            long n = 0;
            for (long m : nodeMessages) {
                n += m;
            }
            return cpuSecs < 0 || n == 0 ? Double.NaN : cpuSecs / (n / 1e6);
        }
    }

    @Override
    public Integer call() {
        Protocol p = Protocol.parse(protocol);
        int nodes = gateways.size();
        if (subscribers < nodes || rates.isEmpty() || size < Producer.TEXT_DIGITS || subscriberThreads < 1 || maxLag < 1
                || refine < 0 || retries < 0 || rates.stream().anyMatch(r -> r < 1)) {
            throw new IllegalArgumentException("need at least one subscriber per gateway, rates >= 1, --size >= "
                    + Producer.TEXT_DIGITS + ", --subscriber-threads and --max-lag >= 1, --refine and --retries >= 0");
        }
        if (!nodePids.isEmpty() && nodePids.size() != nodes) {
            throw new IllegalArgumentException("--node-pids names " + nodePids.size() + " processes for " + nodes
                    + " gateways");
        }
        long steps = (rates.size() + refine) * (1L + retries);
        Watchdog.arm(warmup.plus(timeout.multipliedBy(3))
                .plus(settle.plus(window).plus(timeout).multipliedBy(steps)).plus(Duration.ofMinutes(2)));
        System.out.printf(Locale.ROOT, "%s, %d node(s), %d subscribers (%s per node), %d-byte payloads, max lag %d,"
                        + " %d subscriber thread(s); kept up = sent >= %.0f %% of the rate,"
                        + " delivered >= %.0f %% of rate x subscribers, p99 and the slowest subscriber's lag <= %d ms%n",
                p.label(), nodes, subscribers, share(0, nodes)
                        + (subscribers % nodes == 0 ? "" : "-" + share(nodes - 1, nodes)), size, maxLag,
                subscriberThreads, KEPT_PUBLISHED * 100, KEPT_DELIVERED * 100, latencyLimit.toMillis());
        EventLoopGroup group = GatewaySubscribers.newEventLoopGroup(subscriberThreads);
        recorders = new Recorder[nodes];
        subs = new GatewaySubscribers[nodes];
        try {
            pub = BatchingPublisher.builder().address(broker).name("bench-publisher")
                    .blockTimeout(timeout).requestTimeout(timeout).errorListener(load::fail).build();
            // the stream exists (in Redis, and on node 0) before anyone subscribes from its end
            byte[] probe = new byte[size];
            Producer.putText(probe, System.nanoTime());
            if (!pub.send(STREAM, probe) || !pub.flush(timeout) || pub.failedCount() > 0) {
                throw new BenchException("the probe publish to " + broker + " was not acknowledged within "
                        + timeout.toMillis() + " ms");
            }
            for (int i = 0; i < nodes; i++) {
                recorders[i] = new Recorder(Sample.HIGHEST_NANOS, 3);
                String[] hp = hostPort(gateways.get(i));
                subs[i] = new GatewaySubscribers(p, hp[0], Integer.parseInt(hp[1]), STREAM, share(i, nodes), timeout,
                        load, recorders[i], group);
            }
            pacer = new Pacer();
            load.start("bench-producer", pacer);
            pacer.rate(rates.get(0));
            Waits.sleep(warmup);
            load.check();
            List<Step> done = new ArrayList<>();
            Long good = null;
            Long bad = null;
            for (long r : rates) {
                Step s = step(r);
                done.add(s);
                if (!s.keptUp()) {
                    bad = r;
                    break;
                }
                good = r;
            }
            for (int i = 0; i < refine && good != null && bad != null; i++) {
                long mid = Math.round(Math.sqrt((double) good * bad));
                if (mid <= good || mid >= bad || !drain()) {
                    break;
                }
                Step s = step(mid);
                done.add(s);
                if (s.keptUp()) {
                    good = mid;
                } else {
                    bad = mid;
                }
            }
            result(p, nodes, done, good);
            return 0;
        } finally {
            load.stop(timeout);
            if (pub != null) {
                pub.close();
            }
            for (GatewaySubscribers s : subs) {
                if (s != null) {
                    s.close();
                }
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private int share(int node, int nodes) {
        return subscribers / nodes + (node < subscribers % nodes ? 1 : 0);
    }

    private static String[] hostPort(String s) {
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("a gateway is HOST:PORT, got '" + s + "'");
        }
        return new String[] {s.substring(0, colon), s.substring(colon + 1)};
    }

    private long slowest() {
        long min = Long.MAX_VALUE;
        for (GatewaySubscribers s : subs) {
            min = Math.min(min, s.slowest());
        }
        return min;
    }

    /** Publishing paused, waits until the slowest subscriber has every message; false if not within the timeout. */
    private boolean drain() {
        pacer.rate(0);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (slowest() < pacer.sent && System.nanoTime() - deadline < 0) {
            load.check();
            LockSupport.parkNanos(1_000_000);
        }
        boolean drained = slowest() >= pacer.sent;
        if (!drained) {
            System.out.printf("  (the backlog did not drain within %d ms: no further steps)%n", timeout.toMillis());
        }
        return drained;
    }

    /** Publishes at {@code rate}, lets it settle, then measures windows until one kept up or --retries ran out. */
    private Step step(long rate) {
        pacer.rate(rate);
        Waits.sleep(settle);
        Step s = window(rate);
        for (int i = 0; i < retries && !s.keptUp(); i++) {
            System.out.println("    (behind: measuring this rate again)");
            s = window(rate);
        }
        int n = s.nodes.length;
        append(String.format(Locale.ROOT, "STEP protocol=%s nodes=%d%s rate=%d delivered=%s nodes_cpu_s_per_M=%s kept=%d",
                Protocol.parse(protocol).label(), n, label.isBlank() ? "" : " " + label.trim(), rate,
                num(s.delivered), num(s.nodesCpuPerMillion()), s.keptUp() ? 1 : 0));
        return s;
    }

    /** One measured window at {@code rate}. */
    private Step window(long rate) {
        load.check();
        int n = subs.length;
        long[][] c0 = new long[n][];
        for (int i = 0; i < n; i++) {
            c0[i] = subs[i].snapshot();
            recorders[i].getIntervalHistogram(); // drop what came before the window
        }
        long a0 = pub.ackedCount();
        long sent0 = pacer.sent;
        long[] cpu0 = processTicks();
        List<long[]> m0 = ProcCpu.cpuTicks();
        long t0 = System.nanoTime();
        Waits.sleep(window);
        long[][] c1 = new long[n][];
        Histogram[] h = new Histogram[n];
        for (int i = 0; i < n; i++) {
            c1[i] = subs[i].snapshot();
            h[i] = recorders[i].getIntervalHistogram();
        }
        long a1 = pub.ackedCount();
        long sent1 = pacer.sent;
        long lag = sent1 - slowest(); // the slowest subscriber's backlog at the window's end
        long[] cpu1 = processTicks();
        List<long[]> m1 = ProcCpu.cpuTicks();
        double secs = (System.nanoTime() - t0) / 1e9;
        load.check();

        Histogram all = new Histogram(Sample.HIGHEST_NANOS, 3);
        long total = 0;
        long min = Long.MAX_VALUE;
        long[] nodeMessages = new long[n];
        for (int i = 0; i < n; i++) {
            all.add(h[i]);
            for (int j = 0; j < c0[i].length; j++) {
                long d = c1[i][j] - c0[i][j];
                nodeMessages[i] += d;
                min = Math.min(min, d);
            }
            total += nodeMessages[i];
        }
        double[] nodeCpu = new double[n];
        for (int i = 0; i < n; i++) {
            nodeCpu[i] = cpuSecs(cpu0[i], cpu1[i]);
        }
        double[] busy = new double[m0.size() == m1.size() ? m0.size() : 0];
        for (int i = 0; i < busy.length; i++) {
            long dt = m1.get(i)[1] - m0.get(i)[1];
            busy[i] = dt <= 0 ? Double.NaN : (double) (m1.get(i)[0] - m0.get(i)[0]) / dt;
        }
        double published = (a1 - a0) / secs;
        double offered = (sent1 - sent0) / secs; // what the pacer got out: less when held by the lag or the publisher
        double delivered = total / secs;
        double slowestRate = min / secs;
        double p99 = all.getTotalCount() == 0 ? Double.POSITIVE_INFINITY : all.getValueAtPercentile(99);
        String behind = null;
        if (offered < KEPT_PUBLISHED * rate) {
            behind = String.format(Locale.ROOT, "publisher held back: %.0f %% of the rate sent", 100 * offered / rate);
        } else if (lag > rate * latencyLimit.toNanos() / 1e9) {
            behind = String.format(Locale.ROOT, "the slowest subscriber is %d messages (%.0f ms) behind", lag,
                    lag * 1e3 / rate);
        } else if (delivered < KEPT_DELIVERED * rate * subscribers) {
            behind = String.format(Locale.ROOT, "delivered %.0f %% of rate x subscribers",
                    100 * delivered / rate / subscribers);
        } else if (p99 > latencyLimit.toNanos()) {
            behind = String.format(Locale.ROOT, "p99 %.0f ms > %d ms", p99 / 1e6, latencyLimit.toMillis());
        }
        Step s = new Step(rate, offered, published, delivered, slowestRate, nodeMessages, all, h, nodeCpu,
                cpuSecs(cpu0[n], cpu1[n]), cpuSecs(cpu0[n + 1], cpu1[n + 1]), busy, secs, behind);
        print(s);
        return s;
    }

    /** The nodes', Redis' and this process's CPU ticks, in that order. */
    private long[] processTicks() {
        int n = subs.length;
        long[] t = new long[n + 2];
        for (int i = 0; i < n; i++) {
            t[i] = i < nodePids.size() ? ProcCpu.processTicks(nodePids.get(i)) : -1;
        }
        t[n] = ProcCpu.processTicks(redisPid);
        t[n + 1] = ProcCpu.processTicks(ProcessHandle.current().pid());
        return t;
    }

    private double cpuSecs(long t0, long t1) {
        return t0 < 0 || t1 < 0 ? -1 : (double) (t1 - t0) / clkTck;
    }

    private void print(Step s) {
        double secs = s.secs;
        StringJoiner nodes = new StringJoiner("; ");
        for (int i = 0; i < s.nodes.length; i++) {
            nodes.add(String.format(Locale.ROOT, "n%d %s/s p50 %s p99 %s ms, %s cores, %s s/M", i,
                    Sample.rate(s.nodeMessages[i] / secs), ms(p(s.nodes[i], 50)), ms(p(s.nodes[i], 99)),
                    cores(s.nodeCpuSecs[i], secs),
                    num(s.nodeCpuSecs[i] < 0 || s.nodeMessages[i] == 0 ? Double.NaN
                            : s.nodeCpuSecs[i] / (s.nodeMessages[i] / 1e6))));
        }
        StringJoiner cpus = new StringJoiner(" ");
        double machine = 0;
        for (int i = 0; i < s.cpuBusy.length; i++) {
            cpus.add(String.format(Locale.ROOT, "cpu%d %.0f%%", i, 100 * s.cpuBusy[i]));
            machine += s.cpuBusy[i];
        }
        System.out.printf(Locale.ROOT, "  rate %6d: delivered %8s/s slowest %6s/s published %6s/s p50 %s p99 %s ms"
                        + "  %s%n    %s%n    nodes %s s/M, redis %s cores, subscribers+publisher %s cores;"
                        + " %s (machine %.2f of %d)%n",
                s.rate, Sample.rate(s.delivered), Sample.rate(s.slowest), Sample.rate(s.published),
                ms(p(s.all, 50)), ms(p(s.all, 99)), s.keptUp() ? "kept up" : "BEHIND: " + s.behind, nodes,
                num(s.nodesCpuPerMillion()), cores(s.redisCpuSecs, secs), cores(s.selfCpuSecs, secs), cpus,
                machine, s.cpuBusy.length);
    }

    /** The RESULT line of this run: the capacity step's figures, the first step's costs, the peak. */
    private void result(Protocol p, int nodes, List<Step> done, Long good) {
        Step cap = null;
        double peak = 0;
        for (Step s : done) {
            peak = Math.max(peak, s.delivered);
            if (good != null && s.rate == good && s.keptUp()) {
                cap = s;
            }
        }
        Step ref = done.get(0);
        StringBuilder b = new StringBuilder("RESULT");
        b.append(" protocol=").append(p.label()).append(" nodes=").append(nodes);
        if (!label.isBlank()) {
            b.append(' ').append(label.trim());
        }
        b.append(" subscribers=").append(subscribers);
        b.append(" capacity_rate=").append(cap == null ? 0 : cap.rate);
        // no step fell behind: the capacity is at least the highest rate tried
        b.append(" capacity_lower_bound=").append(done.stream().allMatch(Step::keptUp) ? 1 : 0);
        b.append(" peak_delivered=").append(num(peak));
        b.append(" ref_rate=").append(ref.rate);
        b.append(" ref_nodes_cpu_s_per_M=").append(num(ref.nodesCpuPerMillion()));
        b.append(" ref_redis_cpu_s_per_M=").append(num(ref.perMillion(ref.redisCpuSecs)));
        if (cap != null) {
            b.append(" capacity_delivered=").append(num(cap.delivered));
            b.append(" capacity_slowest=").append(num(cap.slowest));
            b.append(" capacity_p50_us=").append(num(p(cap.all, 50) / 1e3));
            b.append(" capacity_p99_us=").append(num(p(cap.all, 99) / 1e3));
            b.append(" capacity_nodes_cpu_s_per_M=").append(num(cap.nodesCpuPerMillion()));
            b.append(" capacity_redis_cpu_s_per_M=").append(num(cap.perMillion(cap.redisCpuSecs)));
            b.append(" capacity_driver_cpu_s_per_M=").append(num(cap.perMillion(cap.selfCpuSecs)));
            for (int i = 0; i < cap.nodes.length; i++) {
                b.append(" n").append(i).append("_p50_us=").append(num(p(cap.nodes[i], 50) / 1e3));
                b.append(" n").append(i).append("_p99_us=").append(num(p(cap.nodes[i], 99) / 1e3));
                b.append(" n").append(i).append("_cores=").append(num(cap.nodeCpuSecs[i] < 0 ? Double.NaN
                        : cap.nodeCpuSecs[i] / cap.secs));
            }
        }
        String line = b.toString();
        System.out.println(line);
        append(line);
    }

    /** Appends a line to --results, if given. */
    private void append(String line) {
        if (results != null) {
            try {
                Files.writeString(results, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new BenchException("cannot append to " + results + ": " + e, e);
            }
        }
    }

    private static double p(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile);
    }

    private static String ms(double nanos) {
        return Double.isNaN(nanos) ? "-" : String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }

    private static String cores(double cpuSecs, double secs) {
        return cpuSecs < 0 ? "-" : String.format(Locale.ROOT, "%.2f", cpuSecs / secs);
    }

    static String num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "nan" : String.format(Locale.ROOT, "%.3f", v);
    }

    /**
     * The publishing thread: paced at {@link #rate(long)} msg/s (0 pauses it), each payload stamped
     * with the time it was due (a publisher held up still charges the delay: no coordinated
     * omission), waiting while the slowest subscriber is more than {@code --max-lag} behind.
     */
    private final class Pacer implements Runnable {
        private volatile long rate;
        private volatile Thread thread;
        /** Messages handed to the publisher; written by the pacer only. */
        volatile long sent;

        void rate(long r) {
            rate = r;
            Thread t = thread;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }

        @Override
        public void run() {
            thread = Thread.currentThread();
            long seen = -1;
            long anchor = 0;
            long anchorSent = 0;
            long slowest = 0;
            while (load.running) {
                long r = rate;
                if (r != seen) { // a new rate counts from now
                    seen = r;
                    anchor = System.nanoTime();
                    anchorSent = sent;
                }
                if (r == 0) {
                    LockSupport.park(this); // rate(...) unparks
                    continue;
                }
                long due = anchor + (long) ((sent - anchorSent) * 1e9 / r);
                long early = due - System.nanoTime();
                if (early > 0) {
                    LockSupport.parkNanos(this, early); // parks rather than spins: the cores are shared
                    continue;
                }
                if ((sent & 63) == 0 || sent - slowest > maxLag) { // min over all subscribers: not per message
                    slowest = slowest();
                    if (sent - slowest > maxLag) {
                        if (!awaitLag()) {
                            return;
                        }
                        slowest = slowest();
                    }
                }
                byte[] payload = new byte[size];
                Producer.putText(payload, due);
                if (!pub.send(STREAM, payload) && load.running) {
                    throw new BenchException("the publisher did not take a message within " + timeout.toMillis() + " ms");
                }
                sent++;
            }
        }

        /** Waits while the slowest subscriber lags by more than --max-lag; fails when it stops moving. */
        private boolean awaitLag() {
            long last = slowest();
            long progress = System.nanoTime();
            while (load.running && sent - last > maxLag) {
                LockSupport.parkNanos(200_000);
                long now = slowest();
                if (now != last) {
                    last = now;
                    progress = System.nanoTime();
                } else if (System.nanoTime() - progress > timeout.toNanos()) {
                    throw new BenchException("the slowest subscriber received nothing for " + timeout.toMillis()
                            + " ms (" + (sent - last) + " messages published and not delivered)");
                }
            }
            return load.running;
        }
    }
}
