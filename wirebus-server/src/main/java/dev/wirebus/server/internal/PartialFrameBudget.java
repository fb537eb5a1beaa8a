package dev.wirebus.server.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The broker-wide budget of memory held by frames received in part. A connection whose frame is
 * in progress reserves the frame's announced length as soon as its length field has arrived, and
 * gives it back when the frame completes or the connection closes. Frames up to
 * {@link #ALWAYS_ADMITTED} bytes are reserved even past the budget, so that small frames (every
 * ordinary request) never fail for it; a larger frame that does not fit is refused. Thread-safe.
 */
public final class PartialFrameBudget {
    /** Frames this small are never refused by the budget (they still count against it). */
    public static final long ALWAYS_ADMITTED = 64 * 1024;

    private final long budget;
    private final AtomicLong reserved = new AtomicLong();

    PartialFrameBudget(long budget) {
        this.budget = budget;
    }

    /** The budget in bytes. */
    public long budget() {
        return budget;
    }

    /** Bytes reserved now. */
    public long reserved() {
        return reserved.get();
    }

    /**
     * Changes one connection's reservation from {@code from} to {@code to} bytes; false (and
     * nothing changed) when {@code to} is a large frame that does not fit.
     */
    boolean change(long from, long to) {
        long delta = to - from;
        if (delta <= 0 || to <= ALWAYS_ADMITTED) {
            reserved.addAndGet(delta);
            return true;
        }
        while (true) {
            long now = reserved.get();
            if (now + delta > budget) {
                return false;
            }
            if (reserved.compareAndSet(now, now + delta)) {
                return true;
            }
        }
    }
}
