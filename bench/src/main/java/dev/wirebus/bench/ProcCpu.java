package dev.wirebus.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CPU time from Linux's {@code /proc}, for processes this program did not start: a process's
 * user + system time ({@code /proc/PID/stat} fields 14 and 15, in clock ticks), and each CPU's busy
 * and total ticks ({@code /proc/stat}). A figure that cannot be read is -1, so that a missing
 * {@code /proc} (not Linux) or an ended process shows as "-" rather than failing the benchmark.
 */
final class ProcCpu {
    private ProcCpu() {
    }

    /** utime + stime of {@code pid} in clock ticks, or -1. */
    static long processTicks(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the command name (field 2) is in parentheses and may hold spaces: count from after it
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" +");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14, 15; f[0] is field 3
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Per CPU of {@code /proc/stat} ({@code cpu0}, {@code cpu1}, ...): {busy, total} ticks, busy being
     * all but idle and iowait (guest time is already inside user). Empty when unreadable.
     */
    static List<long[]> cpuTicks() {
        List<long[]> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                if (!line.startsWith("cpu") || line.startsWith("cpu ")) {
                    continue;
                }
                String[] f = line.trim().split(" +");
                long total = 0;
                for (int i = 1; i <= Math.min(8, f.length - 1); i++) { // user .. steal
                    total += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
                out.add(new long[] {total - idle, total});
            }
        } catch (IOException | RuntimeException e) {
            out.clear();
        }
        return out;
    }
}
