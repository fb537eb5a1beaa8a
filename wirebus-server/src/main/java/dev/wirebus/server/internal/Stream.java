package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;

import dev.wirebus.server.internal.storage.DurableStreamLog;
import dev.wirebus.server.internal.storage.GroupCommitter;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One named stream: its log, and the cursors waiting for its next record. Appends and reads take
 * the stream's lock; a cursor that reads to the end registers as waiter under the same lock, so an
 * append either is seen by that read or wakes the cursor afterwards. There is no second path for
 * live messages: every subscriber reads the log.
 */
public final class Stream {
    /** Something woken when a stream it waits on gets new records. Woken outside the lock. */
    public abstract static class Waiter {
        /** Guarded by the lock of the stream waited on. */
        private boolean registered;

        protected abstract void wake();
    }

    /** Outcome of {@link #read}. */
    public enum ReadStatus {
        /** Records were added to the output. */
        RECORDS,
        /** Nothing at or after the position yet; the waiter (if any) is registered. */
        WAITING,
        /** The position is below the first retained sequence. */
        NOT_RETAINED
    }

    private final String name;
    private final StreamLog log;
    private final ReentrantLock lock = new ReentrantLock();
    private List<Waiter> waiters = new ArrayList<>();

    /** Told when an append may be acknowledged: durable as the broker's policy asks, or failed. */
    @FunctionalInterface
    public interface AppendListener {
        /** @param failure null when the records are stored as the policy asks */
        void appended(long firstSequence, int count, Throwable failure);
    }

    private final DurableStreamLog durableLog;
    private final GroupCommitter committer;
    /** Guarded by lock: records below this sequence may be delivered (durable ones, under a sync policy). */
    private long visibleNext;

    Stream(String name, StreamLog log, GroupCommitter committer) {
        this.name = name;
        this.log = log;
        this.durableLog = committer != null && log instanceof DurableStreamLog d ? d : null;
        this.committer = durableLog == null ? null : committer;
        this.visibleNext = log.nextSequence();
    }

    public String name() {
        return name;
    }

    /** The log (for closing and syncing at shutdown). */
    StreamLog log() {
        return log;
    }

    /**
     * Appends records, conditionally when {@code expectedSequence} is not
     * {@link Frame#NO_EXPECTED_SEQUENCE}. Without a sync policy the listener hears at once (on this
     * thread) and cursors wake; with one, it hears on the committer's thread once an fsync covers the
     * records, and only then do subscribers see them, so nothing a subscriber saw can be lost.
     *
     * @throws BrokerException {@link ErrorCode#SEQUENCE_MISMATCH} stating the stream's last sequence;
     *     nothing is appended then and the listener is not called
     */
    public void append(RecordBatch records, long expectedSequence, AppendListener listener) {
        List<Waiter> toWake = null;
        long first;
        int count = records.count();
        lock.lock();
        try {
            long next = log.nextSequence();
            if (expectedSequence != Frame.NO_EXPECTED_SEQUENCE && expectedSequence != next) {
                throw new BrokerException(ErrorCode.SEQUENCE_MISMATCH, "stream '" + name + "' is at last sequence "
                        + (next - 1) + "; expected sequence " + expectedSequence + " is not " + next);
            }
            first = log.append(records);
            if (committer != null) {
                long last = first + count - 1;
                // registered under the lock, so this stream's callbacks run in sequence order
                if (!committer.register(durableLog, last, failure -> {
                    if (failure == null) {
                        makeVisible(last + 1);
                    }
                    listener.appended(first, count, failure);
                })) {
                    durableLog.sync(); // the committer is saturated: sync here rather than lose the wait
                    toWake = advanceVisible(last + 1);
                    listener.appended(first, count, null);
                }
            } else {
                toWake = advanceVisible(log.nextSequence());
            }
        } finally {
            lock.unlock();
        }
        wakeAll(toWake);
        if (committer == null) {
            listener.appended(first, count, null);
        }
    }

    private void makeVisible(long next) {
        List<Waiter> toWake;
        lock.lock();
        try {
            toWake = advanceVisible(next);
        } finally {
            lock.unlock();
        }
        wakeAll(toWake);
    }

    /** Under the lock: raises the visible end and takes the waiters to wake (null if none). */
    private List<Waiter> advanceVisible(long next) {
        if (next > visibleNext) {
            visibleNext = next;
        }
        if (waiters.isEmpty()) {
            return null;
        }
        List<Waiter> toWake = waiters;
        waiters = new ArrayList<>(Math.min(16, toWake.size()));
        for (int i = 0; i < toWake.size(); i++) {
            toWake.get(i).registered = false;
        }
        return toWake;
    }

    private static void wakeAll(List<Waiter> toWake) {
        if (toWake != null) {
            for (int i = 0; i < toWake.size(); i++) {
                toWake.get(i).wake();
            }
        }
    }

    /**
     * Reads records from {@code from}; when there are none yet, registers {@code waiter} to be woken
     * by the next append.
     */
    public ReadStatus read(long from, int maxRecords, int maxBytes, List<StreamLog.Slice> out, Waiter waiter) {
        lock.lock();
        try {
            if (from < log.firstSequence()) {
                return ReadStatus.NOT_RETAINED;
            }
            if (from >= visibleNext) {
                if (waiter != null && !waiter.registered) {
                    waiter.registered = true;
                    waiters.add(waiter);
                }
                return ReadStatus.WAITING;
            }
            log.read(from, (int) Math.min(maxRecords, visibleNext - from), maxBytes, out);
            return ReadStatus.RECORDS;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets a waiter (a closed cursor). */
    public void removeWaiter(Waiter waiter) {
        lock.lock();
        try {
            if (waiter.registered) {
                waiter.registered = false;
                waiters.remove(waiter);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The first sequence a subscription starting at this position delivers.
     *
     * @throws BrokerException {@link ErrorCode#SEQUENCE_NOT_RETAINED} naming the first retained sequence
     */
    public long resolveStart(Frame.StartKind kind, long sequence) {
        lock.lock();
        try {
            return switch (kind) {
                case EARLIEST -> log.firstSequence();
                case LATEST -> log.nextSequence();
                case SEQUENCE -> {
                    if (sequence < 1) {
                        throw new BrokerException(ErrorCode.INVALID_ARGUMENT,
                                "start sequence must be at least 1, was " + sequence);
                    }
                    if (sequence < log.firstSequence()) {
                        throw notRetained(sequence, log.firstSequence());
                    }
                    yield sequence;
                }
            };
        } finally {
            lock.unlock();
        }
    }

    /** The error for reading below the retained range. */
    BrokerException notRetained(long sequence, long firstRetained) {
        return new BrokerException(ErrorCode.SEQUENCE_NOT_RETAINED, "stream '" + name + "' retains sequences from "
                + firstRetained + "; sequence " + sequence + " is no longer available");
    }

    /** First retained sequence, read under the lock. */
    public long firstSequence() {
        lock.lock();
        try {
            return log.firstSequence();
        } finally {
            lock.unlock();
        }
    }

    /** Last appended sequence (0 when nothing was ever appended). */
    public long lastSequence() {
        lock.lock();
        try {
            return log.nextSequence() - 1;
        } finally {
            lock.unlock();
        }
    }
}
