package dev.wirebus.bench;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The figures of one measured run, in the order they print: rates in messages (or operations) per
 * second and latency percentiles in microseconds taken from an HdrHistogram. {@link #median} takes
 * each figure's median over several runs separately.
 */
final class Sample {
    static final String RATE = "msg/s";
    static final String OPS = "ops/s";
    static final String P50 = "p50_us";
    static final String P99 = "p99_us";
    static final String P999 = "p99.9_us";
    static final String MAX = "max_us";
    /** fsyncs the broker started per second (disk store, counted through JFR). */
    static final String FSYNCS = "fsync/s";

    /** Largest latency the histograms hold: 60 s in nanoseconds (larger values are clamped). */
    static final long HIGHEST_NANOS = 60_000_000_000L;

    final Map<String, Double> values = new LinkedHashMap<>();
    /** Context that is not a result: GC and CPU during the run. */
    String note = "";

    Sample put(String key, double value) {
        values.put(key, value);
        return this;
    }

    double get(String key) {
        Double v = values.get(key);
        return v == null ? Double.NaN : v;
    }

    /** A fresh histogram of nanoseconds, 3 significant digits. */
    /**
     * Times {@code call} back to back for {@code window} (closed loop: each call starts when the
     * previous one returned) and reports calls/s and the percentiles of their durations.
     */
    static Sample closedLoop(java.time.Duration window, Runnable call) {
        Histogram h = newHistogram();
        long start = System.nanoTime();
        long end = start + window.toNanos();
        long now = start;
        while (now - end < 0) {
            long t0 = System.nanoTime();
            call.run();
            now = System.nanoTime();
            record(h, now - t0);
        }
        double secs = (now - start) / 1e9;
        return new Sample().put(OPS, h.getTotalCount() / secs).percentiles("", h);
    }

    static Histogram newHistogram() {
        return new Histogram(HIGHEST_NANOS, 3);
    }

    /** Records {@code nanos}, clamped to the histogram's range. */
    static void record(Histogram h, long nanos) {
        h.recordValue(Math.max(0, Math.min(nanos, HIGHEST_NANOS)));
    }

    /** Adds p50/p99/p99.9/max (us) of a histogram of nanoseconds, prefixed (e.g. "e2e_"). */
    Sample percentiles(String prefix, Histogram h) {
        if (h.getTotalCount() == 0) {
            return this;
        }
        put(prefix + P50, h.getValueAtPercentile(50) / 1000.0);
        put(prefix + P99, h.getValueAtPercentile(99) / 1000.0);
        put(prefix + P999, h.getValueAtPercentile(99.9) / 1000.0);
        put(prefix + MAX, h.getMaxValue() / 1000.0);
        return this;
    }

    static Sample median(List<Sample> runs) {
        Sample m = new Sample();
        for (String key : runs.get(0).values.keySet()) {
            double[] xs = runs.stream().mapToDouble(s -> s.get(key)).filter(d -> !Double.isNaN(d)).toArray();
            if (xs.length == 0) {
                continue;
            }
            Arrays.sort(xs);
            int n = xs.length;
            m.put(key, n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2);
        }
        return m;
    }

    String format() {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Double> e : values.entrySet()) {
            parts.add(e.getKey() + "=" + formatValue(e.getKey(), e.getValue()));
        }
        return String.join("  ", parts) + (note.isEmpty() ? "" : "  [" + note + "]");
    }

    static String formatValue(String key, double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        if (key.endsWith("_us")) {
            return v >= 1000 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%.1f", v);
        }
        if (key.endsWith("/s")) {
            return rate(v);
        }
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    /** 1234567 -> "1.23M", 45678 -> "45.7k". */
    static String rate(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }
}
