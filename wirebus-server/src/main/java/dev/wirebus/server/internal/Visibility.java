package dev.wirebus.server.internal;

import java.util.ArrayList;
import java.util.List;

/**
 * Which of a stream's records subscribers may read: those below {@link #next()}, the visible end.
 * Under a sync policy the end moves when an fsync covers records (the fsync watermark, see
 * {@link Durability}), so nothing a subscriber saw can be lost; otherwise when they are appended.
 * Cursors that read to the end wait here and are handed back to be woken when the end moves.
 *
 * <p>Not thread-safe: guarded by the stream's lock. Waiters are woken outside it.
 */
final class Visibility {
    private long next;
    private List<Stream.Waiter> waiters = new ArrayList<>();

    Visibility(long next) {
        this.next = next;
    }

    /** Records below this sequence may be read. */
    long next() {
        return next;
    }

    /** Starts over at {@code next} (an awaited stream got its log); waiters stay. */
    void reset(long next) {
        this.next = next;
    }

    /** Whether {@code sequence} may be read. */
    boolean isVisible(long sequence) {
        return sequence < next;
    }

    /** Registers a waiter to be woken when the end moves (once, however often it asks). */
    void await(Stream.Waiter waiter) {
        if (!waiter.registered) {
            waiter.registered = true;
            waiters.add(waiter);
        }
    }

    /** Forgets a waiter (a closed cursor). */
    void forget(Stream.Waiter waiter) {
        if (waiter.registered) {
            waiter.registered = false;
            waiters.remove(waiter);
        }
    }

    /**
     * Raises the visible end to {@code next} (never lowers it) and takes every waiter, to be woken
     * with {@link #wake} outside the lock; null when none waits.
     */
    List<Stream.Waiter> advance(long next) {
        if (next > this.next) {
            this.next = next;
        }
        if (waiters.isEmpty()) {
            return null;
        }
        List<Stream.Waiter> toWake = waiters;
        waiters = new ArrayList<>(Math.min(16, toWake.size()));
        for (int i = 0; i < toWake.size(); i++) {
            toWake.get(i).registered = false;
        }
        return toWake;
    }

    /** Wakes what {@link #advance} took (null: nothing). Call outside the stream's lock. */
    static void wake(List<Stream.Waiter> toWake) {
        if (toWake != null) {
            for (int i = 0; i < toWake.size(); i++) {
                toWake.get(i).wake();
            }
        }
    }
}
