package dev.wirebus.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * CPU time of this JVM's threads over a window, grouped by role: the thread name without its
 * trailing counters ({@code wirebus-http-3-1} and {@code wirebus-http-3-2} are {@code wirebus-http},
 * {@code wirebus-dispatch-17} is {@code wirebus-dispatch}). With broker, gateway and subscribers
 * in one JVM this says where the cores went: "wirebus-http 0.61 (2 threads), wirebus-dispatch 0.40
 * (37), ...". Threads that started during the window count from zero; those that ended are missed.
 */
final class ThreadCpu {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final long startNanos = System.nanoTime();
    private final Map<Long, Long> start;

    ThreadCpu() {
        start = cpuById();
    }

    static boolean supported() {
        return THREADS.isThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
    }

    private static Map<Long, Long> cpuById() {
        Map<Long, Long> out = new HashMap<>();
        if (!supported()) {
            return out;
        }
        long[] ids = THREADS.getAllThreadIds();
        long[] cpu = THREADS.getThreadCpuTime(ids);
        for (int i = 0; i < ids.length; i++) {
            if (cpu[i] >= 0) {
                out.put(ids[i], cpu[i]);
            }
        }
        return out;
    }

    /** "wirebus-http-3-1" -> "wirebus-http"; "GC Thread#0" -> "GC Thread". */
    static String role(String name) {
        return name.replaceAll("([-#_ ]?\\d+)+$", "");
    }

    /** Cores used per role over the window, the largest first, roles under 0.02 cores left out. */
    String describe() {
        if (!supported()) {
            return "per-thread cpu unsupported";
        }
        double secs = (System.nanoTime() - startNanos) / 1e9;
        long[] ids = THREADS.getAllThreadIds();
        long[] cpu = THREADS.getThreadCpuTime(ids);
        ThreadInfo[] infos = THREADS.getThreadInfo(ids);
        Map<String, long[]> roles = new HashMap<>(); // role -> {nanos, threads that ran}
        for (int i = 0; i < ids.length; i++) {
            if (infos[i] == null || cpu[i] < 0) {
                continue;
            }
            long used = cpu[i] - start.getOrDefault(ids[i], 0L);
            if (used <= 0) {
                continue;
            }
            long[] r = roles.computeIfAbsent(role(infos[i].getThreadName()), k -> new long[2]);
            r[0] += used;
            r[1]++;
        }
        List<Map.Entry<String, long[]>> sorted = new ArrayList<>(roles.entrySet());
        sorted.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
        Map<String, String> parts = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : sorted) {
            double cores = e.getValue()[0] / 1e9 / secs;
            if (cores < 0.02) {
                continue;
            }
            long n = e.getValue()[1];
            parts.put(e.getKey(), String.format(Locale.ROOT, "%.2f", cores) + (n > 1 ? " (" + n + " threads)" : ""));
        }
        List<String> out = new ArrayList<>();
        parts.forEach((k, v) -> out.add(k + " " + v));
        return "cores by thread: " + String.join(", ", out);
    }
}
