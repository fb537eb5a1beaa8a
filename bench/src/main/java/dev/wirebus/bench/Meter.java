package dev.wirebus.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What a run cost besides its results: collections and CPU time of this JVM and, when the broker
 * runs as its own process, that process's CPU time (from /proc). Start one before a run and
 * {@link #describe} it after.
 */
final class Meter {
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    /** Clock ticks of /proc/PID/stat; 100 on every Linux this runs on. */
    private static final double TICKS_PER_SECOND = 100;

    private final long startNanos = System.nanoTime();
    private final long gcCount;
    private final long gcMillis;
    private final long cpuNanos;
    private final long brokerPid;
    private final long brokerTicks;

    Meter(long brokerPid) {
        long c = 0;
        long t = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            c += Math.max(0, gc.getCollectionCount());
            t += Math.max(0, gc.getCollectionTime());
        }
        this.gcCount = c;
        this.gcMillis = t;
        this.cpuNanos = OS.getProcessCpuTime();
        this.brokerPid = brokerPid;
        this.brokerTicks = brokerPid > 0 ? ticks(brokerPid) : -1;
    }

    String describe() {
        double secs = (System.nanoTime() - startNanos) / 1e9;
        long c = 0;
        long t = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            c += Math.max(0, gc.getCollectionCount());
            t += Math.max(0, gc.getCollectionTime());
        }
        String s = String.format(Locale.ROOT, "gc %d/%dms, cpu %.2f cores", c - gcCount, t - gcMillis,
                (OS.getProcessCpuTime() - cpuNanos) / 1e9 / secs);
        if (brokerPid > 0 && brokerTicks >= 0) {
            long now = ticks(brokerPid);
            if (now >= 0) {
                s += String.format(Locale.ROOT, ", broker process cpu %.2f cores", (now - brokerTicks) / TICKS_PER_SECOND / secs);
            }
        }
        return s;
    }

    /** utime + stime of a process, in clock ticks, or -1. */
    private static long ticks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            // the command name may hold spaces: fields count from after its closing parenthesis
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (Exception e) {
            return -1;
        }
    }

    /** "load 3.2" (1-minute average) when the OS reports it. */
    static String load() {
        double l = OS.getSystemLoadAverage();
        return l < 0 ? "load n/a" : String.format(Locale.ROOT, "load %.1f", l);
    }
}
