package dev.wirebus.gateway.internal;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.concurrent.TimeUnit;

/**
 * Deadlines of one length (the request timeout, the header timeout) for the connections of one
 * event loop, kept without a timer per request. Every entry gets the same timeout, so entries added
 * later expire later: the queue is a doubly linked list in deadline order, adding and removing are
 * O(1), and one scheduled wake-up at the first deadline serves them all. Scheduling and cancelling a
 * Netty timer for every request (a priority-queue insert and removal each) is what this saves.
 *
 * <p>Event loop only: {@link #add} and {@link #remove} on {@link #loop()}.
 *
 * <pre>{@code
 * DeadlineQueue timeouts = new DeadlineQueue(ctx.executor(), Duration.ofSeconds(10).toNanos());
 * timeouts.add(entry);     // entry.expired() runs in 10 s unless...
 * timeouts.remove(entry);  // ...it is removed first
 * }</pre>
 */
public final class DeadlineQueue {
    /** Something with a deadline: a request awaiting its answer, a connection reading headers. */
    public abstract static class Entry {
        private Entry prev;
        private Entry next;
        private DeadlineQueue queue;
        private long deadline;

        /** True while queued. */
        public final boolean queued() {
            return queue != null;
        }

        /** The deadline passed; the entry is no longer queued. On the event loop. */
        protected abstract void expired();
    }

    private final EventExecutor loop;
    private final long timeoutNanos;
    private Entry head;
    private Entry tail;
    private ScheduledFuture<?> wakeUp;
    private final Runnable expire = this::expire;

    public DeadlineQueue(EventExecutor loop, long timeoutNanos) {
        if (timeoutNanos <= 0) {
            throw new IllegalArgumentException("timeout must be positive, was " + timeoutNanos + " ns");
        }
        this.loop = loop;
        this.timeoutNanos = timeoutNanos;
    }

    public EventExecutor loop() {
        return loop;
    }

    /** Queues {@code e} to expire one timeout from now; an entry already queued is moved to now. */
    public void add(Entry e) {
        if (e.queue != null) {
            e.queue.remove(e);
        }
        e.deadline = System.nanoTime() + timeoutNanos;
        e.queue = this;
        e.prev = tail;
        e.next = null;
        if (tail == null) {
            head = e;
        } else {
            tail.next = e;
        }
        tail = e;
        if (wakeUp == null) {
            wakeUp = loop.schedule(expire, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Takes {@code e} out, if it is queued here; it will not expire. */
    public void remove(Entry e) {
        if (e.queue != this) {
            return;
        }
        if (e.prev == null) {
            head = e.next;
        } else {
            e.prev.next = e.next;
        }
        if (e.next == null) {
            tail = e.prev;
        } else {
            e.next.prev = e.prev;
        }
        e.prev = null;
        e.next = null;
        e.queue = null;
        // the wake-up stays: when it comes it finds the next deadline and sleeps again until then
    }

    /** Entries queued now (walks the list; for tests). */
    int size() {
        int n = 0;
        for (Entry e = head; e != null; e = e.next) {
            n++;
        }
        return n;
    }

    private void expire() {
        wakeUp = null;
        long now = System.nanoTime();
        while (head != null && head.deadline - now <= 0) {
            Entry e = head;
            remove(e);
            e.expired();
        }
        if (head != null && wakeUp == null) {
            wakeUp = loop.schedule(expire, head.deadline - now, TimeUnit.NANOSECONDS);
        }
    }
}
