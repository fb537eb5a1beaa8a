package dev.wirebus.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;

/**
 * The last deadline: if the whole program has not finished within its budget (its runs plus
 * generous set-up time), it prints every thread's stack and halts, so a hang never outlives the
 * sitting. Broker processes end with it: their standard input closes.
 */
final class Watchdog {
    private Watchdog() {
    }

    static void arm(Duration budget) {
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(budget.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            System.err.println("watchdog: wirebus-bench still running after " + budget.toSeconds()
                    + " s, past its budget; thread dump follows, then exit 3");
            for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(false, false)) {
                System.err.print(info);
            }
            System.err.flush();
            Runtime.getRuntime().halt(3);
        }, "bench-watchdog");
        t.setDaemon(true);
        t.start();
    }
}
