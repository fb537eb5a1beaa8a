package dev.wirebus.gateway.internal;

import java.util.concurrent.atomic.AtomicInteger;

/** Counts requests waiting for the broker, all connections together, up to a maximum. Thread-safe. */
public final class InFlightLimiter {
    private final int max;
    private final AtomicInteger inFlight = new AtomicInteger();

    public InFlightLimiter(int max) {
        this.max = max;
    }

    /** Takes a slot; false when all {@code max} are taken. */
    public boolean tryAcquire() {
        for (;;) {
            int n = inFlight.get();
            if (n >= max) {
                return false;
            }
            if (inFlight.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    public void release() {
        inFlight.decrementAndGet();
    }

    public int inFlight() {
        return inFlight.get();
    }
}
