package dev.wirebus.bench;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * The table of {@code bench/redis-fanout.sh}: the {@code RESULT} lines of {@link RedisFanout} runs,
 * grouped by protocol and node count, as medians; then per protocol the ratios of N nodes to one:
 * delivered msg/s at capacity (raw: on this machine nodes, subscribers, publisher and Redis share
 * the cores), and, from the {@code STEP} lines, the nodes' CPU seconds per million delivered messages
 * against one node's at the same published rate ({@link #costRatios}), from which {@code N / ratio}
 * is what N nodes would deliver with a core each.
 */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = "Medians and ratios of the RESULT lines in a file (bench/redis-fanout.sh prints them).")
final class RedisFanoutSummary implements Callable<Integer> {
    /** The target: 2 nodes deliver at least this multiple of one node's fan-out. */
    static final double TARGET_RATIO = 1.6;

    @Parameters(index = "0", paramLabel = "FILE", description = "RESULT lines, one per run.")
    Path file;

    @Override
    public Integer call() throws IOException {
        // protocol -> nodes -> runs, each run a map of its key=value pairs
        Map<String, TreeMap<Integer, List<Map<String, String>>>> groups = new LinkedHashMap<>();
        // "protocol nodes" -> the steps of every run, for the costs at the same published rate
        Map<String, List<Map<String, String>>> steps = new HashMap<>();
        for (String line : Files.readAllLines(file)) {
            boolean step = line.startsWith("STEP ");
            if (!line.startsWith("RESULT ") && !step) {
                continue;
            }
            Map<String, String> kv = new HashMap<>();
            for (String pair : line.substring(line.indexOf(' ') + 1).trim().split(" +")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    kv.put(pair.substring(0, eq), pair.substring(eq + 1));
                }
            }
            if (step) {
                steps.computeIfAbsent(kv.get("protocol") + " " + kv.get("nodes"), k -> new ArrayList<>()).add(kv);
                continue;
            }
            groups.computeIfAbsent(kv.getOrDefault("protocol", "?"), k -> new TreeMap<>())
                    .computeIfAbsent(Integer.parseInt(kv.getOrDefault("nodes", "0")), k -> new ArrayList<>()).add(kv);
        }
        if (groups.isEmpty()) {
            System.out.println("no RESULT lines in " + file);
            return 1;
        }
        String subscribers = groups.values().iterator().next().firstEntry().getValue().get(0).get("subscribers");
        System.out.printf("%n== fan-out across nodes on one Redis: medians of the runs, %s subscribers split evenly"
                + " over the nodes' gateways, publishing through node 0%n", subscribers);
        System.out.printf("%-5s %5s %4s %9s %11s %9s %11s %7s %7s  %-30s %9s %9s %9s %9s%n", "proto", "nodes", "runs",
                "capacity", "delivered/s", "slowest/s", "peak/s", "p50_ms", "p99_ms", "per node p50/p99 ms, cores",
                "node s/M", "@ref s/M", "redis s/M", "subs s/M");
        for (Map.Entry<String, TreeMap<Integer, List<Map<String, String>>>> g : groups.entrySet()) {
            for (Map.Entry<Integer, List<Map<String, String>>> e : g.getValue().entrySet()) {
                List<Map<String, String>> runs = e.getValue();
                StringBuilder perNode = new StringBuilder();
                for (int i = 0; i < e.getKey(); i++) {
                    perNode.append(perNode.length() == 0 ? "" : "; ").append(String.format(Locale.ROOT,
                            "n%d %s/%s %s", i, ms(median(runs, "n" + i + "_p50_us")),
                            ms(median(runs, "n" + i + "_p99_us")), f2(median(runs, "n" + i + "_cores"))));
                }
                System.out.printf(Locale.ROOT, "%-5s %5d %4d %9s %11s %9s %11s %7s %7s  %-30s %9s %9s %9s %9s%n",
                        g.getKey(), e.getKey(), runs.size(), (median(runs, "capacity_lower_bound") > 0 ? ">=" : "")
                                + f0(median(runs, "capacity_rate")),
                        rate(median(runs, "capacity_delivered")), rate(median(runs, "capacity_slowest")),
                        rate(median(runs, "peak_delivered")), ms(median(runs, "capacity_p50_us")),
                        ms(median(runs, "capacity_p99_us")), perNode, f3(median(runs, "capacity_nodes_cpu_s_per_M")),
                        f3(median(runs, "ref_nodes_cpu_s_per_M")), f3(median(runs, "capacity_redis_cpu_s_per_M")),
                        f3(median(runs, "capacity_driver_cpu_s_per_M")));
            }
        }
        System.out.println("(capacity = highest published msg/s every subscriber kept up with, >= when most runs never"
                + " fell behind: add higher RATES; delivered/slowest/p50/p99"
                + " and per node at that rate; peak = most delivered msg/s of any step; node s/M = CPU seconds of all"
                + " nodes per million messages they delivered, at capacity and at the first rate (@ref, the same"
                + " offered load for every node count); n0 is the publishing node, the others receive across Redis)");
        System.out.printf(Locale.ROOT, "%nratios of N nodes to 1 (issue 15: 2 nodes deliver >= %.1fx one node's fan-out):%n",
                TARGET_RATIO);
        for (Map.Entry<String, TreeMap<Integer, List<Map<String, String>>>> g : groups.entrySet()) {
            List<Map<String, String>> one = g.getValue().get(1);
            if (one == null) {
                continue;
            }
            double c1 = median(one, "capacity_rate");
            double p1 = median(one, "peak_delivered");
            double k1 = median(one, "capacity_nodes_cpu_s_per_M");
            for (Map.Entry<Integer, List<Map<String, String>>> e : g.getValue().entrySet()) {
                int n = e.getKey();
                if (n == 1) {
                    continue;
                }
                List<Map<String, String>> runs = e.getValue();
                // capacities in published msg/s; x the same subscribers, the ratio of deliveries sustained
                double raw = median(runs, "capacity_rate") / c1;
                boolean bound = median(one, "capacity_lower_bound") > 0 || median(runs, "capacity_lower_bound") > 0;
                // the nodes' CPU per delivered message against one node's at the same published rate (the
                // same messages per second on every subscriber's connection), at each rate both kept up with
                TreeMap<Long, Double> ratios = costRatios(steps.getOrDefault(g.getKey() + " 1", List.of()),
                        steps.getOrDefault(g.getKey() + " " + n, List.of()));
                Map.Entry<Long, Double> top = ratios.lastEntry();
                StringBuilder each = new StringBuilder();
                ratios.forEach((rate, r) -> each.append(each.length() == 0 ? "" : ", ").append(rate).append(": ")
                        .append(f2(r)).append('x'));
                double atCapacity = median(runs, "capacity_nodes_cpu_s_per_M") / k1;
                System.out.printf(Locale.ROOT, "  %-3s %d nodes: raw, on this machine: capacity %sx%s (peak delivered %sx)%s%n",
                        g.getKey(), n, f2(raw), verdict(n, raw), f2(median(runs, "peak_delivered") / p1),
                        bound ? "; a capacity is only a lower bound (no step fell behind): raise RATES" : "");
                System.out.printf(Locale.ROOT, "      per-node cost (nodes' CPU s per M delivered, N nodes / 1 node):"
                                + " at the same rate %s -> %s with a core per node%s; at capacity %sx -> %sx%s%n"
                                + "      (same-rate ratios, per rate kept up by all runs of both: %s)%n",
                        top == null ? "-" : f2(top.getValue()) + "x (" + top.getKey() + " msg/s)",
                        top == null ? "-" : f2(n / top.getValue()) + "x", top == null ? "" : verdict(n, n / top.getValue()),
                        f2(atCapacity), f2(n / atCapacity), verdict(n, n / atCapacity), each.length() == 0 ? "none" : each);
            }
        }
        return 0;
    }

    /**
     * Per published rate kept up in every run of both (1 node, N nodes): the median over the N-node
     * runs of their nodes' CPU seconds per million delivered messages, divided by the same median of
     * the one-node runs. At one rate each subscriber's connection carries the same messages per second
     * whatever the node count, so the ratio is the price of the nodes' own work (each reads and decodes
     * every message from Redis and feeds its gateway once) spread over fewer subscribers; with the
     * cost per message flat, N nodes with a core each deliver N / ratio times one node.
     */
    static TreeMap<Long, Double> costRatios(List<Map<String, String>> one, List<Map<String, String>> many) {
        TreeMap<Long, Double> out = new TreeMap<>();
        Map<Long, List<Map<String, String>>> oneByRate = byRate(one);
        for (Map.Entry<Long, List<Map<String, String>>> e : byRate(many).entrySet()) {
            List<Map<String, String>> base = oneByRate.get(e.getKey());
            if (base == null || !allKept(base) || !allKept(e.getValue())) {
                continue;
            }
            double r = median(e.getValue(), "nodes_cpu_s_per_M") / median(base, "nodes_cpu_s_per_M");
            if (!Double.isNaN(r)) {
                out.put(e.getKey(), r);
            }
        }
        return out;
    }

    private static Map<Long, List<Map<String, String>>> byRate(List<Map<String, String>> steps) {
        Map<Long, List<Map<String, String>>> out = new TreeMap<>();
        for (Map<String, String> s : steps) {
            out.computeIfAbsent(Long.parseLong(s.get("rate")), k -> new ArrayList<>()).add(s);
        }
        return out;
    }

    private static boolean allKept(List<Map<String, String>> steps) {
        return steps.stream().allMatch(s -> "1".equals(s.get("kept")));
    }

    private static String verdict(int nodes, double ratio) {
        if (nodes != 2 || Double.isNaN(ratio) || Double.isInfinite(ratio)) {
            return "";
        }
        return ratio >= TARGET_RATIO ? " [MET]" : " [MISSED]";
    }

    /** The median of a key over the runs that have a number for it; NaN if none has. */
    static double median(List<Map<String, String>> runs, String key) {
        double[] v = runs.stream().map(m -> m.get(key)).filter(s -> s != null && !s.equals("nan"))
                .mapToDouble(Double::parseDouble).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String rate(double v) {
        return Double.isNaN(v) ? "-" : Sample.rate(v);
    }

    private static String ms(double us) {
        return Double.isNaN(us) ? "-" : String.format(Locale.ROOT, "%.2f", us / 1000);
    }

    private static String f0(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f", v);
    }

    private static String f2(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "-" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f3(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3f", v);
    }
}
