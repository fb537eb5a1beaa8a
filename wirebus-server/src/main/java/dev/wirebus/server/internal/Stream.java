package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;

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

    Stream(String name, StreamLog log) {
        this.name = name;
        this.log = log;
    }

    public String name() {
        return name;
    }

    /**
     * Appends records, conditionally when {@code expectedSequence} is not
     * {@link Frame#NO_EXPECTED_SEQUENCE}, and wakes waiting cursors.
     *
     * @return the sequence of the first record
     * @throws BrokerException {@link ErrorCode#SEQUENCE_MISMATCH} stating the stream's last sequence
     */
    public long append(RecordBatch records, long expectedSequence) {
        List<Waiter> toWake;
        long first;
        lock.lock();
        try {
            long next = log.nextSequence();
            if (expectedSequence != Frame.NO_EXPECTED_SEQUENCE && expectedSequence != next) {
                throw new BrokerException(ErrorCode.SEQUENCE_MISMATCH, "stream '" + name + "' is at last sequence "
                        + (next - 1) + "; expected sequence " + expectedSequence + " is not " + next);
            }
            first = log.append(records);
            if (waiters.isEmpty()) {
                return first;
            }
            toWake = waiters;
            waiters = new ArrayList<>(Math.min(16, toWake.size()));
            for (int i = 0; i < toWake.size(); i++) {
                toWake.get(i).registered = false;
            }
        } finally {
            lock.unlock();
        }
        for (int i = 0; i < toWake.size(); i++) {
            toWake.get(i).wake();
        }
        return first;
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
            if (from >= log.nextSequence()) {
                if (waiter != null && !waiter.registered) {
                    waiter.registered = true;
                    waiters.add(waiter);
                }
                return ReadStatus.WAITING;
            }
            log.read(from, maxRecords, maxBytes, out);
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
