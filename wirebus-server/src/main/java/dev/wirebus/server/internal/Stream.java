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
    /** Replaced once, under the lock, when an awaited stream is created by its first publish. */
    private volatile StreamLog log;
    /**
     * True while the stream does not exist and is only awaited by subscribers: it has no files and
     * nothing persisted, and goes when its last subscriber leaves (see {@link StreamRegistry#attach}).
     */
    private volatile boolean awaited;
    /** Told when the last subscriber of an awaited stream left; set by the registry. */
    private java.util.function.Consumer<Stream> onIdleWhileAwaited;
    private final ReentrantLock lock = new ReentrantLock();
    private List<Waiter> waiters = new ArrayList<>();

    /** Told when an append may be acknowledged: durable as the broker's policy asks, or failed. */
    @FunctionalInterface
    public interface AppendListener {
        /** @param failure null when the records are stored as the policy asks */
        void appended(long firstSequence, int count, Throwable failure);

        /**
         * An idempotent producer's batch had been appended before, at these sequences, and is stored
         * as the policy asks; nothing was appended now.
         */
        default void duplicate(long firstSequence, int count) {
            appended(firstSequence, count, null);
        }
    }

    /** Guarded by lock. */
    private DurableStreamLog durableLog;
    /** Guarded by lock. */
    private GroupCommitter committer;
    /** Guarded by lock: records below this sequence may be delivered (durable ones, under a sync policy). */
    private long visibleNext;

    Stream(String name, StreamLog log, GroupCommitter committer) {
        this.name = name;
        bind(log, committer);
    }

    /**
     * A stream that does not exist yet, awaited by subscribers: empty, no files, nothing persisted;
     * {@code onIdle} hears when its last subscriber leaves.
     */
    static Stream awaited(String name, java.util.function.Consumer<Stream> onIdle) {
        Stream s = new Stream(name, new InMemoryStreamLog(1, 1), null);
        s.awaited = true;
        s.onIdleWhileAwaited = onIdle;
        return s;
    }

    private void bind(StreamLog log, GroupCommitter committer) {
        this.log = log;
        this.durableLog = committer != null && log instanceof DurableStreamLog d ? d : null;
        this.committer = durableLog == null ? null : committer;
        this.visibleNext = log.nextSequence();
        if (log instanceof SharedStreamLog shared) {
            shared.onVisible(this::makeVisible); // appends of every broker, read back by the store's tailer
        }
    }

    /** Whether the stream only awaits its first publish (no files, nothing persisted). */
    boolean isAwaited() {
        return awaited;
    }

    /**
     * Turns an awaited stream into a stored one on its first publish: takes the log, stores the
     * durable consumers that attached while it was awaited, and wakes its waiting cursors (they
     * read on from where they wait).
     */
    void create(StreamLog created, GroupCommitter committer, ConsumerPositions p,
                java.util.Map<String, ConsumerPositions.Saved> saved) {
        List<Waiter> toWake;
        lock.lock();
        try {
            bind(created, committer);
            this.positions = p;
            saved.forEach((n, v) -> consumers.putIfAbsent(n, new ConsumerState(n, v.acked(), v.maxLag())));
            for (ConsumerState c : consumers.values()) {
                p.save(name, c.name, c.acked, c.maxLag, () -> { });
            }
            awaited = false;
            onIdleWhileAwaited = null;
            toWake = advanceVisible(visibleNext);
        } finally {
            lock.unlock();
        }
        wakeAll(toWake);
    }

    public String name() {
        return name;
    }

    /** The log (for closing and syncing at shutdown). */
    StreamLog log() {
        return log;
    }

    /** A publish held back by a gating consumer until it may be appended or its deadline passes. */
    private static final class HeldPublish {
        final RecordBatch records;
        final long expectedSequence;
        final String producerId;
        final long producerSequence;
        final AppendListener listener;
        final long heldAtNanos = System.nanoTime();
        java.util.concurrent.Future<?> timer;

        HeldPublish(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
                    AppendListener listener) {
            this.records = records;
            this.expectedSequence = expectedSequence;
            this.producerId = producerId;
            this.producerSequence = producerSequence;
            this.listener = listener;
        }
    }

    /** A durable consumer's state; guarded by the stream's lock. */
    static final class ConsumerState {
        final String name;
        long acked;
        int maxLag;
        int connected;

        ConsumerState(String name, long acked, int maxLag) {
            this.name = name;
            this.acked = acked;
            this.maxLag = maxLag;
        }
    }

    private static final int MAX_HELD_PUBLISHES = 100_000;
    /** The retry-after hint of a BACKPRESSURE error (protocol version 2 field retryAfterMillis). */
    static final long BACKPRESSURE_RETRY_AFTER_MILLIS = 100;
    private static final long MAX_HELD_BYTES = 64L * 1024 * 1024;
    /** Guarded by lock: bytes of the held publishes' records. */
    private long heldBytes;
    private final java.util.ArrayDeque<HeldPublish> held = new java.util.ArrayDeque<>();
    private final java.util.Map<String, ConsumerState> consumers = new java.util.LinkedHashMap<>();
    private ConsumerPositions positions = ConsumerPositions.NONE;
    private long heldNanosTotal;
    private long rejectedPublishes;
    /** Guarded by lock: told the name of each durable consumer (for its meters); null until set. */
    private java.util.function.Consumer<String> consumerAdded;
    /** Subscriptions open on this stream (plain and durable consumers'). */
    private final java.util.concurrent.atomic.AtomicInteger subscribers = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Appends records, conditionally when {@code expectedSequence} is not
     * {@link Frame#NO_EXPECTED_SEQUENCE}. Without a sync policy the listener hears at once (on this
     * thread) and cursors wake; with one, it hears on the committer's thread once an fsync covers the
     * records, and only then do subscribers see them, so nothing a subscriber saw can be lost.
     *
     * <p>While a gating consumer lags by its maximum, the publish is held (in arrival order, behind
     * any publish already held) until acknowledgements make room, or until {@code maxWait} passes:
     * then the listener hears {@link ErrorCode#TIMEOUT} and nothing is appended.
     *
     * @throws BrokerException {@link ErrorCode#SEQUENCE_MISMATCH} stating the stream's last sequence, or
     *     {@link ErrorCode#BACKPRESSURE} when too many publishes are held; nothing is appended then and the
     *     listener is not called
     */
    public void append(RecordBatch records, long expectedSequence, AppendListener listener,
                       java.util.concurrent.ScheduledExecutorService timers, long maxWaitMillis) {
        append(records, expectedSequence, null, 0, listener, timers, maxWaitMillis);
    }

    /**
     * Appends an idempotent producer's batch (or any batch when {@code producerId} is null): as
     * {@link #append(RecordBatch, long, AppendListener, java.util.concurrent.ScheduledExecutorService, long)},
     * except that a batch whose producer sequence this stream appended before is not appended again;
     * the listener hears {@link AppendListener#duplicate} with the original sequences once they are
     * stored as the policy asks, without waiting for a gate.
     *
     * @throws BrokerException also {@link ErrorCode#PRODUCER_SEQUENCE} for a producer sequence out of order
     */
    public void append(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
                       AppendListener listener, java.util.concurrent.ScheduledExecutorService timers,
                       long maxWaitMillis) {
        if (log instanceof SharedStreamLog shared) {
            // the shared store checks, gates and sequences the append for all brokers at once
            shared.appendShared(records, expectedSequence, producerId, producerSequence, listener, maxWaitMillis);
            return;
        }
        List<Runnable> after = new ArrayList<>(2);
        lock.lock();
        try {
            if (producerId != null && answeredAsDuplicate(producerId, producerSequence, listener, after)) {
                // nothing to append
            } else if (!held.isEmpty() || !gateAllows(records.count())) {
                if (held.size() >= MAX_HELD_PUBLISHES || heldBytes + records.sizeInBytes() > MAX_HELD_BYTES) {
                    rejectedPublishes++;
                    throw new BrokerException(ErrorCode.BACKPRESSURE, "stream '" + name + "' holds " + held.size()
                            + " publishes (" + heldBytes + " bytes) waiting for " + gateDescription(),
                            dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.RETRY_AFTER_MILLIS,
                                    BACKPRESSURE_RETRY_AFTER_MILLIS));
                }
                HeldPublish h = new HeldPublish(records, expectedSequence, producerId, producerSequence, listener);
                held.add(h);
                heldBytes += records.sizeInBytes();
                h.timer = timers.schedule(() -> expire(h, maxWaitMillis), maxWaitMillis,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            } else {
                appendLocked(records, expectedSequence, producerId, producerSequence, listener, after);
            }
        } finally {
            lock.unlock();
        }
        after.forEach(Runnable::run);
    }

    /**
     * Under the lock: when the producer's batch was appended before, arranges the duplicate answer
     * (once what it answers with is stored as the policy asks) and returns true.
     *
     * @throws BrokerException {@link ErrorCode#PRODUCER_SEQUENCE} for a producer sequence out of order
     */
    private boolean answeredAsDuplicate(String producerId, long producerSequence, AppendListener listener,
                                        List<Runnable> after) {
        ProducerTable.Appended earlier = log.producers().check(name, producerId, producerSequence);
        if (earlier == null) {
            return false;
        }
        long first = earlier.firstSequence();
        int count = earlier.count();
        long last = first + count - 1;
        if (last < visibleNext || committer == null) {
            after.add(() -> listener.duplicate(first, count));
        } else if (!committer.register(durableLog, last, failure -> {
            if (failure == null) {
                listener.duplicate(first, count);
            } else {
                listener.appended(0, 0, failure);
            }
        })) {
            durableLog.sync(); // the committer is saturated: sync here rather than lose the wait
            after.add(() -> listener.duplicate(first, count));
        }
        return true;
    }

    /**
     * Under the lock: appends and arranges the listener call and wake-ups in {@code after}. An
     * idempotent producer's batch must have been judged new by {@link #answeredAsDuplicate} first.
     */
    private void appendLocked(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
                              AppendListener listener, List<Runnable> after) {
        int count = records.count();
        long next = log.nextSequence();
        if (expectedSequence != Frame.NO_EXPECTED_SEQUENCE && expectedSequence != next) {
            throw new BrokerException(ErrorCode.SEQUENCE_MISMATCH, "stream '" + name + "' is at last sequence "
                    + (next - 1) + "; expected sequence " + expectedSequence + " is not " + next,
                    dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.LAST_SEQUENCE, next - 1));
        }
        long first = producerId == null ? log.append(records) : log.append(records, producerId, producerSequence);
        long last = first + count - 1;
        if (committer != null) {
            // registered under the lock, so this stream's callbacks run in sequence order
            if (committer.register(durableLog, last, failure -> {
                if (failure == null) {
                    makeVisible(last + 1);
                }
                listener.appended(first, count, failure);
            })) {
                return;
            }
            durableLog.sync(); // the committer is saturated: sync here rather than lose the wait
        }
        List<Waiter> toWake = advanceVisible(last + 1);
        after.add(() -> wakeAll(toWake));
        after.add(() -> listener.appended(first, count, null));
    }

    /** Under the lock: whether {@code count} more records keep every gating consumer within its lag. */
    private boolean gateAllows(int count) {
        long last = log.nextSequence() - 1;
        for (ConsumerState c : consumers.values()) {
            if (c.maxLag > 0 && last > c.acked && last + count - c.acked > c.maxLag) {
                return false;
            }
        }
        return true;
    }

    private String gateDescription() {
        long last = log.nextSequence() - 1;
        StringBuilder b = new StringBuilder();
        for (ConsumerState c : consumers.values()) {
            if (c.maxLag > 0 && last - c.acked >= 1) {
                if (b.length() > 0) {
                    b.append(", ");
                }
                b.append("consumer '").append(c.name).append("' (lag ").append(last - c.acked)
                        .append(", max lag ").append(c.maxLag).append(')');
            }
        }
        return b.length() == 0 ? "the publishes ahead of it" : b.toString();
    }

    private void expire(HeldPublish h, long maxWaitMillis) {
        String why;
        List<Runnable> after = new ArrayList<>(2);
        lock.lock();
        try {
            if (!held.remove(h)) {
                return; // appended meanwhile
            }
            heldBytes -= h.records.sizeInBytes();
            rejectedPublishes++;
            heldNanosTotal += System.nanoTime() - h.heldAtNanos;
            why = gateDescription();
            releaseHeld(after); // a smaller publish behind it may fit now
        } finally {
            lock.unlock();
            after.forEach(Runnable::run);
        }
        h.listener.appended(0, 0, new BrokerException(ErrorCode.TIMEOUT, "publish to stream '" + name
                + "' waited " + maxWaitMillis + " ms for " + why + "; nothing was appended"));
    }

    /** Under the lock: appends the held publishes that fit now, in order. */
    private void releaseHeld(List<Runnable> after) {
        while (!held.isEmpty()) {
            HeldPublish h = held.peek();
            // an idempotent batch is judged again now (a copy held ahead of it may have been appended
            // meanwhile); a duplicate or an out-of-order one is answered without waiting for the gate
            boolean settled;
            try {
                settled = h.producerId != null
                        && answeredAsDuplicate(h.producerId, h.producerSequence, h.listener, after);
            } catch (BrokerException e) {
                after.add(() -> h.listener.appended(0, 0, e));
                settled = true;
            }
            if (!settled && !gateAllows(h.records.count())) {
                return;
            }
            held.poll();
            h.timer.cancel(false);
            heldNanosTotal += System.nanoTime() - h.heldAtNanos;
            heldBytes -= h.records.sizeInBytes();
            if (settled) {
                continue;
            }
            try {
                appendLocked(h.records, h.expectedSequence, h.producerId, h.producerSequence, h.listener, after);
            } catch (BrokerException e) {
                after.add(() -> h.listener.appended(0, 0, e));
            } catch (RuntimeException e) {
                // storage failed: answer this publish; the ones still held time out or fail the same way
                after.add(() -> h.listener.appended(0, 0, new BrokerException(ErrorCode.INTERNAL,
                        "stream '" + name + "' could not append: " + e.getMessage())));
            }
        }
    }

    // ------------------------------------------------------------------ durable consumers

    /** Where consumer positions are kept; set once by the registry before use. */
    void positions(ConsumerPositions p, java.util.Map<String, ConsumerPositions.Saved> saved) {
        lock.lock();
        try {
            this.positions = p;
            saved.forEach((n, v) -> consumers.put(n, new ConsumerState(n, v.acked(), v.maxLag())));
        } finally {
            lock.unlock();
        }
    }

    /**
     * Attaches a subscription of durable consumer {@code name} and returns the sequence it starts
     * at: a new consumer where {@code kind} says, an existing one after its acknowledged sequence,
     * or {@code resumeAt} when that is not 0 (a client resuming after a reconnect).
     */
    long attachConsumer(String consumer, Frame.StartKind kind, long sequence, long resumeAt, int maxLag) {
        List<Runnable> after = new ArrayList<>(2);
        long start;
        // a consumer may have moved here from another broker on the same shared store: take its position from there
        ConsumerPositions.Saved stored = log instanceof SharedStreamLog shared ? shared.storedConsumer(consumer) : null;
        lock.lock();
        try {
            ConsumerState c = consumers.get(consumer);
            if (stored != null) {
                if (c == null) {
                    c = new ConsumerState(consumer, stored.acked(), stored.maxLag());
                    consumers.put(consumer, c);
                    if (consumerAdded != null) {
                        java.util.function.Consumer<String> added = consumerAdded;
                        after.add(() -> added.accept(consumer));
                    }
                } else if (stored.acked() > c.acked) {
                    c.acked = stored.acked();
                }
            }
            if (c == null) {
                start = resolveStartLocked(kind, sequence);
                c = new ConsumerState(consumer, start - 1, maxLag);
                consumers.put(consumer, c);
                positions.save(name, consumer, c.acked, maxLag, () -> { });
                if (consumerAdded != null) {
                    java.util.function.Consumer<String> added = consumerAdded;
                    after.add(() -> added.accept(consumer));
                }
            } else {
                start = resumeAt > 0 ? resumeAt : c.acked + 1;
                if (start > log.nextSequence()) {
                    // the client received more than this stream holds: its tail was lost (page cache under "never")
                    throw new BrokerException(ErrorCode.SEQUENCE_NOT_RETAINED, "stream '" + name + "' ends at sequence "
                            + (log.nextSequence() - 1) + "; consumer '" + consumer + "' cannot resume at " + start
                            + " without a gap", dev.wirebus.protocol.ErrorFields.of(
                                    dev.wirebus.protocol.ErrorFields.FIRST_RETAINED_SEQUENCE, log.firstSequence()));
                }
                if (start < log.firstSequence()) {
                    throw notRetained(start, log.firstSequence());
                }
                if (c.maxLag != maxLag) {
                    c.maxLag = maxLag;
                    positions.save(name, consumer, c.acked, maxLag, () -> { });
                    releaseHeld(after);
                }
            }
            c.connected++;
        } finally {
            lock.unlock();
            after.forEach(Runnable::run);
        }
        return start;
    }

    /** A subscription of the consumer ended. */
    void detachConsumer(String consumer) {
        lock.lock();
        try {
            ConsumerState c = consumers.get(consumer);
            if (c != null && c.connected > 0) {
                c.connected--;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records that the consumer handled everything up to {@code sequence} (never moving back, never
     * past the end), releases publishes its lag held back, and runs {@code onStored} once the
     * position is stored as durably as the storage keeps positions.
     */
    void acknowledge(String consumer, long sequence, Runnable onStored) {
        List<Runnable> after = new ArrayList<>(2);
        lock.lock();
        try {
            ConsumerState c = consumers.get(consumer);
            long upTo = Math.min(sequence, log.nextSequence() - 1);
            if (c == null || upTo <= c.acked) {
                after.add(onStored);
            } else {
                c.acked = upTo;
                positions.save(name, consumer, upTo, c.maxLag, onStored);
                releaseHeld(after);
            }
        } finally {
            lock.unlock();
            after.forEach(Runnable::run);
        }
    }

    // ------------------------------------------------------------------ metrics, read when a registry is scraped

    /**
     * Tells {@code listener} the name of every durable consumer the stream has and of each one added
     * later (outside the stream's lock).
     */
    void onConsumerAdded(java.util.function.Consumer<String> listener) {
        List<String> existing;
        lock.lock();
        try {
            consumerAdded = listener;
            existing = new ArrayList<>(consumers.keySet());
        } finally {
            lock.unlock();
        }
        existing.forEach(listener);
    }

    /** A subscription opened on this stream. */
    void subscriberOpened() {
        subscribers.incrementAndGet();
    }

    /** A subscription on this stream closed (or failed to open after {@link #subscriberOpened()}). */
    void subscriberClosed() {
        if (subscribers.decrementAndGet() == 0 && awaited) {
            java.util.function.Consumer<Stream> idle = onIdleWhileAwaited;
            if (idle != null) {
                idle.accept(this); // the registry drops it if no one attached meanwhile
            }
        }
    }

    /** Open subscriptions. */
    int subscribers() {
        return subscribers.get();
    }

    /** Publishes held back by a gating consumer now. */
    int heldPublishes() {
        lock.lock();
        try {
            return held.size();
        } finally {
            lock.unlock();
        }
    }

    /** Seconds publishes spent held, summed over those no longer held. */
    double heldSeconds() {
        lock.lock();
        try {
            return heldNanosTotal / 1e9;
        } finally {
            lock.unlock();
        }
    }

    /** Publishes failed by the gate: held too long, or too many held. */
    long gateRejected() {
        lock.lock();
        try {
            return rejectedPublishes;
        } finally {
            lock.unlock();
        }
    }

    /** Records after the consumer's acknowledged sequence (NaN when there is no such consumer). */
    double consumerLag(String consumer) {
        lock.lock();
        try {
            ConsumerState c = consumers.get(consumer);
            return c == null ? Double.NaN : Math.max(0, log.nextSequence() - 1 - c.acked);
        } finally {
            lock.unlock();
        }
    }

    /** The consumer's acknowledged sequence (NaN when there is no such consumer). */
    double consumerAcked(String consumer) {
        lock.lock();
        try {
            ConsumerState c = consumers.get(consumer);
            return c == null ? Double.NaN : c.acked;
        } finally {
            lock.unlock();
        }
    }

    /** The stream's consumers as the CONSUMER_LIST frame reports them. */
    Frame.ConsumerList consumerList(long requestId) {
        lock.lock();
        try {
            List<Frame.ConsumerInfo> list = new ArrayList<>();
            for (ConsumerState c : consumers.values()) {
                list.add(new Frame.ConsumerInfo(c.name, c.acked, c.maxLag, c.connected > 0));
            }
            return new Frame.ConsumerList(requestId, log.nextSequence() - 1, held.size(),
                    java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(heldNanosTotal), rejectedPublishes, list);
        } finally {
            lock.unlock();
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
            return resolveStartLocked(kind, sequence);
        } finally {
            lock.unlock();
        }
    }

    private long resolveStartLocked(Frame.StartKind kind, long sequence) {
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
    }

    /** The error for reading below the retained range. */
    BrokerException notRetained(long sequence, long firstRetained) {
        return new BrokerException(ErrorCode.SEQUENCE_NOT_RETAINED, "stream '" + name + "' retains sequences from "
                + firstRetained + "; sequence " + sequence + " is no longer available",
                dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.FIRST_RETAINED_SEQUENCE,
                        firstRetained));
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
