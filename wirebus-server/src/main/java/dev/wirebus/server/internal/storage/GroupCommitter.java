package dev.wirebus.server.internal.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Group commit over one or many logs (the {@code batch} durability policy; with a zero delay, an
 * asynchronous {@code always}). Callers register "tell me when sequence S of log L is durable";
 * one background thread syncs the logs that have waiters once the oldest waiter has waited
 * {@code maxDelay}, or at once when a registration finds {@code maxUnsyncedBytes} or more
 * unsynced in its log, and then completes every waiter its syncs covered.
 *
 * <p>Order: callbacks run on the committer's thread, one at a time, never before the log's
 * {@link DurableStreamLog#durableSequence()} covers their sequence. For two waiters of one log,
 * the one registered first runs first when its sequence is not higher; so registering under the
 * stream's lock right after the append (registration is cheap and never blocks on a sync) makes
 * each log's callbacks run in sequence order.
 *
 * <p>Bounded: at most {@code maxWaiters} waiters at once; {@link #register} returns false beyond
 * that (and after {@link #close()}), and the caller decides (sync itself, or push back).
 *
 * <p>Threading: {@link #register} and {@link #close()} are safe from any thread. Callbacks must be
 * quick and must not block: they delay every other waiter. Lifecycle: the thread starts in the
 * constructor; {@link #close()} syncs and completes the waiters still registered, then stops it.
 */
public final class GroupCommitter implements AutoCloseable {
    /** Told once whether the sequence it waited for is durable. */
    @FunctionalInterface
    public interface Callback {
        /** @param failure null when the sequence is durable; else why it will not become so */
        void completed(Throwable failure);
    }

    private static final Logger LOG = LoggerFactory.getLogger(GroupCommitter.class);
    private static final long IDLE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long CLOSE_WAIT_MILLIS = 10_000;
    private static final Comparator<Waiter> BY_SEQUENCE =
            Comparator.comparingLong(Waiter::sequence).thenComparingLong(Waiter::order);

    private record Waiter(long sequence, long order, long registeredNanos, Callback callback) {
    }

    private record Done(Waiter waiter, Throwable failure) {
    }

    private final long maxDelayNanos;
    private final long maxUnsyncedBytes;
    private final int maxWaiters;
    private final Thread thread;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    /** Guarded by lock: each log's waiters, lowest sequence first. */
    private final Map<DurableStreamLog, PriorityQueue<Waiter>> pending = new IdentityHashMap<>();
    private int waiting;
    private long registrations;
    /** When the oldest registered waiter registered (meaningful while {@code waiting > 0}). */
    private long oldestNanos;
    /** A registration asks for a sync now (bytes trigger). */
    private boolean syncNow;
    /** A registration is already covered by its log's durable sequence. */
    private boolean completeNow;
    private boolean closed;
    /** Told how long each sync that reached the disk took. */
    private volatile java.util.function.LongConsumer syncObserver = nanos -> { };

    /**
     * @param name names the thread
     * @param maxDelay longest a waiter waits before a sync starts for it; zero syncs as soon as anyone waits
     * @param maxUnsyncedBytes a registration that finds this many bytes unsynced in its log starts a sync at once
     * @param maxWaiters most waiters registered at once
     */
    public GroupCommitter(String name, Duration maxDelay, long maxUnsyncedBytes, int maxWaiters) {
        if (maxDelay.isNegative()) {
            throw new IllegalArgumentException("maxDelay must not be negative, was " + maxDelay);
        }
        if (maxUnsyncedBytes < 1 || maxWaiters < 1) {
            throw new IllegalArgumentException("maxUnsyncedBytes and maxWaiters must be at least 1, were "
                    + maxUnsyncedBytes + " and " + maxWaiters);
        }
        this.maxDelayNanos = maxDelay.toNanos();
        this.maxUnsyncedBytes = maxUnsyncedBytes;
        this.maxWaiters = maxWaiters;
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Asks for {@code callback} once {@code sequence} of {@code log} is durable (or its sync fails).
     * A sequence already durable completes soon on the committer's thread, in order with the rest.
     *
     * @return false, without registering, when {@code maxWaiters} are waiting or the committer is closed
     * @throws IllegalArgumentException when {@code sequence} was not written yet (register after appending)
     */
    public boolean register(DurableStreamLog log, long sequence, Callback callback) {
        if (sequence > log.writtenSequence()) {
            throw new IllegalArgumentException("sequence " + sequence + " is not written yet; the log is at "
                    + log.writtenSequence());
        }
        long now = System.nanoTime();
        lock.lock();
        try {
            if (closed || waiting >= maxWaiters) {
                return false;
            }
            if (waiting == 0) {
                oldestNanos = now;
            }
            pending.computeIfAbsent(log, l -> new PriorityQueue<>(BY_SEQUENCE))
                    .add(new Waiter(sequence, registrations++, now, callback));
            waiting++;
            if (sequence <= log.durableSequence()) {
                completeNow = true;
            } else if (maxDelayNanos == 0 || log.unsyncedBytes() >= maxUnsyncedBytes) {
                syncNow = true;
            }
            work.signal();
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Tells {@code nanos} how long each sync that reached the disk took (on the committer's thread; keep it quick). */
    public void observeSyncs(java.util.function.LongConsumer nanos) {
        this.syncObserver = java.util.Objects.requireNonNull(nanos, "nanos");
    }

    /** Waiters registered and not yet completed. */
    public int waiting() {
        lock.lock();
        try {
            return waiting;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new waiters, syncs and completes those registered, and stops the thread (waiting at
     * most 10 seconds for it). Idempotent.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            work.signalAll();
        } finally {
            lock.unlock();
        }
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(CLOSE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("Group committer thread {} did not stop within {} ms", thread.getName(), CLOSE_WAIT_MILLIS);
        }
    }

    private void run() {
        List<Done> done = new ArrayList<>();
        lock.lock();
        try {
            while (true) {
                boolean syncDue = awaitWork();
                if (!syncDue && closed && waiting == 0) {
                    return;
                }
                completeNow = false;
                takeCovered(done, null);
                List<DurableStreamLog> toSync = new ArrayList<>();
                if (syncDue) {
                    syncNow = false;
                    toSync.addAll(pending.keySet());
                }
                lock.unlock();
                Map<DurableStreamLog, Throwable> failures = new IdentityHashMap<>();
                try {
                    runCallbacks(done);
                    for (DurableStreamLog log : toSync) {
                        try {
                            long before = log.syncCount();
                            long start = System.nanoTime();
                            log.sync();
                            if (log.syncCount() != before) {
                                syncObserver.accept(System.nanoTime() - start);
                            }
                        } catch (RuntimeException e) {
                            failures.put(log, e);
                        }
                    }
                } finally {
                    lock.lock();
                }
                takeCovered(done, failures);
                lock.unlock();
                try {
                    runCallbacks(done);
                } finally {
                    lock.lock();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits (holding the lock) until waiters are due for a sync, covered already, or the committer
     * closes; true when a sync is due.
     */
    private boolean awaitWork() {
        while (true) {
            if (waiting > 0 && (syncNow || closed || System.nanoTime() - oldestNanos >= maxDelayNanos)) {
                return true;
            }
            if (completeNow || closed) {
                return false;
            }
            long wait = waiting == 0 ? IDLE_WAIT_NANOS : maxDelayNanos - (System.nanoTime() - oldestNanos);
            try {
                work.awaitNanos(Math.max(1, wait));
            } catch (InterruptedException e) {
                LOG.warn("Group committer thread {} was interrupted; it keeps running until closed", thread.getName());
            }
        }
    }

    /**
     * Moves to {@code done}, in order, each log's waiters its durable sequence covers, and all
     * waiters of a log whose sync failed.
     */
    private void takeCovered(List<Done> done, Map<DurableStreamLog, Throwable> failures) {
        Iterator<Map.Entry<DurableStreamLog, PriorityQueue<Waiter>>> logs = pending.entrySet().iterator();
        long oldest = Long.MAX_VALUE;
        boolean any = false;
        while (logs.hasNext()) {
            Map.Entry<DurableStreamLog, PriorityQueue<Waiter>> e = logs.next();
            Throwable failure = failures == null ? null : failures.get(e.getKey());
            long durable = e.getKey().durableSequence();
            PriorityQueue<Waiter> queue = e.getValue();
            while (!queue.isEmpty() && (failure != null || queue.peek().sequence() <= durable)) {
                done.add(new Done(queue.poll(), failure));
                waiting--;
            }
            if (queue.isEmpty()) {
                logs.remove();
            } else {
                for (Waiter w : queue) {
                    if (!any || w.registeredNanos() - oldest < 0) {
                        oldest = w.registeredNanos();
                        any = true;
                    }
                }
            }
        }
        if (any) {
            oldestNanos = oldest;
        }
    }

    private static void runCallbacks(List<Done> done) {
        for (Done d : done) {
            try {
                d.waiter().callback().completed(d.failure());
            } catch (RuntimeException e) {
                LOG.warn("A durability callback failed", e);
            }
        }
        done.clear();
    }
}
