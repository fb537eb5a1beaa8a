package dev.wirebus.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Background load threads of a workload: started once, stopped (with a deadline) at close; first error kept. */
final class Load {
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicReference<Throwable> error = new AtomicReference<>();
    volatile boolean running = true;

    void start(String name, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                fail(e);
            }
        }, name);
        t.setDaemon(true);
        threads.add(t);
        t.start();
    }

    /** Records the first failure; the next {@link #check} throws it and load stops. */
    void fail(Throwable t) {
        if (error.compareAndSet(null, t)) {
            running = false;
        }
    }

    void check() {
        Throwable t = error.get();
        if (t != null) {
            throw t instanceof BenchException b ? b : new BenchException("load failed: " + t, t);
        }
    }

    /** Signals stop and joins every thread, each within {@code timeout}. */
    void stop(Duration timeout) {
        running = false;
        for (Thread t : threads) {
            t.interrupt();
        }
        for (Thread t : threads) {
            Waits.join(t, timeout);
        }
    }
}
