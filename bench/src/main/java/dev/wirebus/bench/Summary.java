package dev.wirebus.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The closing table of {@code all}: per figure the median of the runs on UDS and TCP, the target
 * (stated for UDS), and, when the floor of this sitting is known, each figure as a multiple of its
 * floor: latencies over the C ping-pong round trip (request/reply over two of them, for its two
 * round trips), rates over C one-way streaming.
 */
final class Summary {
    /** One line of the table. */
    record Row(String label, String bench, String key, String target, Double bound, boolean atMost,
               Function<Floor, Map<Transport, Double>> floorOf, double floorFactor) {
    }

    static final List<Row> ROWS = List.of(
            new Row("publish->ack p50 (us)", PublishLatency.NAME, Sample.P50, "<= 20", 20.0, true, f -> f.pingP50, 1),
            new Row("publish->ack p99 (us)", PublishLatency.NAME, Sample.P99, "", null, true, f -> f.pingP99, 1),
            new Row("request/reply p50 (us)", RequestReply.NAME, Sample.P50, "<= 40", 40.0, true, f -> f.pingP50, 2),
            new Row("request/reply p99 (us)", RequestReply.NAME, Sample.P99, "", null, true, f -> f.pingP99, 2),
            new Row("acked publish, BatchingPublisher (msg/s)", PublishThroughput.NAME + "/publisher", Sample.RATE,
                    ">= 5M", 5e6, false, f -> f.streamRate, 1),
            new Row("acked publish, publishBatch window (msg/s)", PublishThroughput.NAME + "/batch", Sample.RATE,
                    ">= 5M", 5e6, false, f -> f.streamRate, 1),
            new Row("end-to-end delivered (msg/s)", EndToEnd.NAME, Sample.RATE, ">= 3M", 3e6, false,
                    f -> f.streamRate, 1),
            new Row("end-to-end latency p50 (us)", EndToEnd.NAME, "e2e_" + Sample.P50, "", null, true, null, 1),
            new Row("fanout delivered, all subscribers (msg/s)", Fanout.NAME, Sample.RATE, "", null, false, null, 1));

    private Summary() {
    }

    static void print(PrintStream out, Runner r, Floor floor) {
        BenchOptions o = r.o;
        out.printf("%nSUMMARY  median of %d run(s) x %s after %s warm-up, %d B payloads, broker %s%s, client io %s%n",
                o.runs, Runner.human(o.duration), Runner.human(o.warmup), o.size, o.broker,
                o.brokerProcess ? " (separate process)" : "", Runner.clientIo());
        String fmt = "%-43s %9s %9s   %-7s %-6s%s%n";
        out.printf(fmt, "figure", "uds", "tcp", "target", "uds", floor == null ? "" : "   uds/floor  tcp/floor");
        for (Row row : ROWS) {
            Map<Transport, Sample> m = r.medians.get(row.bench());
            if (m == null) {
                continue;
            }
            double uds = value(m, Transport.UDS, row.key());
            double tcp = value(m, Transport.TCP, row.key());
            String verdict = row.bound() == null || Double.isNaN(uds) ? ""
                    : (row.atMost() ? uds <= row.bound() : uds >= row.bound()) ? "MET" : "MISSED";
            String ratios = "";
            if (floor != null && row.floorOf() != null) {
                Map<Transport, Double> f = row.floorOf().apply(floor);
                ratios = String.format(Locale.ROOT, "   %9s  %9s", ratio(uds, f.get(Transport.UDS), row.floorFactor()),
                        ratio(tcp, f.get(Transport.TCP), row.floorFactor()));
            }
            out.printf(fmt, row.label(), Sample.formatValue(row.key(), uds), Sample.formatValue(row.key(), tcp),
                    row.target(), verdict, ratios);
        }
        if (floor != null) {
            out.printf("floor (this sitting): ping-pong p50 uds %s / tcp %s us, p99 uds %s / tcp %s us;"
                            + " stream uds %s / tcp %s msg/s%n",
                    fmt(floor.pingP50.get(Transport.UDS)), fmt(floor.pingP50.get(Transport.TCP)),
                    fmt(floor.pingP99.get(Transport.UDS)), fmt(floor.pingP99.get(Transport.TCP)),
                    rate(floor.streamRate.get(Transport.UDS)), rate(floor.streamRate.get(Transport.TCP)));
            out.println("  x floor: latency / floor latency (request/reply / 2 round trips), rate / floor rate");
        } else {
            out.println("(no floor: run via bench/run.sh, or pass --floor-file with shared/floor/run.sh output, for ratios)");
        }
    }

    private static double value(Map<Transport, Sample> m, Transport t, String key) {
        Sample s = m.get(t);
        return s == null ? Double.NaN : s.get(key);
    }

    private static String ratio(double v, Double floor, double factor) {
        if (floor == null || Double.isNaN(v) || floor <= 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fx", v / (floor * factor));
    }

    private static String fmt(Double d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.1f", d);
    }

    private static String rate(Double d) {
        return d == null ? "-" : Sample.rate(d);
    }
}
