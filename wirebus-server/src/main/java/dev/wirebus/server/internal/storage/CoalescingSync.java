package dev.wirebus.server.internal.storage;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code always} durability policy for one log, for callers that may block: each waits until
 * its own sequence is durable, and concurrent callers share fsyncs. The first caller to find no
 * sync in progress leads: it syncs, which covers everything written before it started; the others
 * wait for it, and those it did not cover (written during its sync) elect the next leader. So N
 * producers acknowledging at once cost one or two fsyncs, not N.
 *
 * <p>Threading: safe from any number of threads. No lock is held during a sync. A leader's sync
 * has no deadline (an fsync cannot be abandoned); followers wait at most their timeout. Don't
 * interrupt a leader: see {@link SegmentedFileLog}.
 */
public final class CoalescingSync {
    private final DurableStreamLog log;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition syncFinished = lock.newCondition();
    /** Guarded by lock. */
    private boolean syncing;

    public CoalescingSync(DurableStreamLog log) {
        this.log = log;
    }

    /**
     * Returns once {@code sequence} (already appended) is durable, syncing if no one else is.
     *
     * @return false when the timeout passed while waiting for another caller's sync
     * @throws StorageException when a sync fails (this caller's, or the log failed earlier)
     * @throws IllegalArgumentException when {@code sequence} was not written yet
     * @throws InterruptedException when interrupted while waiting (never while syncing)
     */
    public boolean awaitDurable(long sequence, long timeout, TimeUnit unit) throws InterruptedException {
        if (log.durableSequence() >= sequence) {
            return true;
        }
        if (sequence > log.writtenSequence()) {
            throw new IllegalArgumentException("sequence " + sequence + " is not written yet; the log is at "
                    + log.writtenSequence());
        }
        long remaining = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            while (log.durableSequence() < sequence) {
                if (!syncing) {
                    syncing = true;
                    lock.unlock();
                    try {
                        log.sync();
                    } finally {
                        lock.lock();
                        syncing = false;
                        syncFinished.signalAll();
                    }
                } else {
                    if (remaining <= 0) {
                        return false;
                    }
                    remaining = syncFinished.awaitNanos(remaining);
                }
            }
            return true;
        } finally {
            lock.unlock();
        }
    }
}
