package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;

import dev.wirebus.server.internal.storage.GroupCommitter;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One named stream: its log, and the cursors waiting for its next record. Appends and reads take
 * the stream's lock; a cursor that reads to the end registers as waiter under the same lock, so an
 * append either is seen by that read or wakes the cursor afterwards. There is no second path for
 * live messages: every subscriber reads the log.
 *
 * <p>This class orders the work under the lock; each rule is in a part of its own, all guarded by
 * the same lock: duplicate detection in {@link ProducerCheck} (the log's {@link ProducerTable}),
 * when an append counts as stored in {@link Durability}, what subscribers may read in
 * {@link Visibility} (the fsync watermark), durable consumers in {@link ConsumerStates}, and
 * publishes held for lagging consumers in {@link PublishGate}. Wire frames are built by the
 * connection's handlers, not here.
 */
public final class Stream {
    /** Something woken when a stream it waits on gets new records. Woken outside the lock. */
    public abstract static class Waiter {
        /** Guarded by the lock of the stream waited on (see {@link Visibility}). */
        boolean registered;

        protected abstract void wake();
    }

    /** Outcome of {@link #read}. */
    public enum ReadStatus {
        /** Records were added to the output. */
        RECORDS,
        /** Nothing at or after the position yet; the waiter (if any) is registered. */
        WAITING,
        /** The position is below the first retained sequence. */
        NOT_RETAINED,
        /** The stream was deleted (DELETE_STREAM); a publish creates a new one under the same name. */
        DELETED
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
    /** Set once, under the lock, by {@link #delete()}: this object is gone from the registry. */
    private volatile boolean deleted;
    /** Subscriptions reading this stream, woken by {@link #delete()} (with or without credits). */
    private final java.util.Set<Waiter> readers = java.util.concurrent.ConcurrentHashMap.newKeySet();

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

    /** The retry-after hint of a BACKPRESSURE error (protocol version 2 field retryAfterMillis). */
    static final long BACKPRESSURE_RETRY_AFTER_MILLIS = PublishGate.BACKPRESSURE_RETRY_AFTER_MILLIS;

    // The parts, each guarded by the lock:
    /** When appends count as stored (the fsync policy). */
    private Durability durability;
    /** Which records subscribers may read, and the cursors waiting for more. */
    private final Visibility visibility;
    /** Durable consumers' positions and lags. */
    private final ConsumerStates consumers;
    /** Publishes held back while a gating consumer lags. */
    private final PublishGate gate;
    /** Guarded by lock: told the name of each durable consumer (for its meters); null until set. */
    private java.util.function.Consumer<String> consumerAdded;
    /** Subscriptions open on this stream (plain and durable consumers'). */
    private final java.util.concurrent.atomic.AtomicInteger subscribers = new java.util.concurrent.atomic.AtomicInteger();

    Stream(String name, StreamLog log, GroupCommitter committer) {
        this(name, log, Durability.of(log, committer));
    }

    /** A stream over {@code log} whose appends count as stored when {@code durability} says. */
    Stream(String name, StreamLog log, Durability durability) {
        this.name = name;
        this.log = log;
        this.durability = durability;
        this.visibility = new Visibility(log.nextSequence());
        this.consumers = new ConsumerStates(name);
        this.gate = new PublishGate(name, consumers);
        watchShared(log);
    }

    /** A log shared by several brokers tells when records any of them appended become readable. */
    private void watchShared(StreamLog log) {
        if (log instanceof SharedStreamLog shared) {
            shared.onVisible(this::makeVisible);
        }
    }

    /**
     * A stream that does not exist yet, awaited by subscribers: empty, no files, nothing persisted;
     * {@code onIdle} hears when its last subscriber leaves.
     */
    static Stream awaited(String name, java.util.function.Consumer<Stream> onIdle) {
        Stream s = new Stream(name, new InMemoryStreamLog(1, 1), Durability.IMMEDIATE);
        s.awaited = true;
        s.onIdleWhileAwaited = onIdle;
        return s;
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
            this.log = created;
            this.durability = Durability.of(created, committer);
            visibility.reset(created.nextSequence());
            watchShared(created);
            consumers.moveTo(p, saved);
            awaited = false;
            onIdleWhileAwaited = null;
            toWake = visibility.advance(visibility.next());
        } finally {
            lock.unlock();
        }
        Visibility.wake(toWake);
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
        append(records, expectedSequence, null, 0, listener, DeadlineClock.on(timers), maxWaitMillis);
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
        append(records, expectedSequence, producerId, producerSequence, listener, DeadlineClock.on(timers),
                maxWaitMillis);
    }

    /** As the other appends, with the deadline of a held publish kept by {@code clock}. */
    void append(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
                AppendListener listener, DeadlineClock clock, long maxWaitMillis) {
        if (log instanceof SharedStreamLog shared) {
            // the shared store checks, gates and sequences the append for all brokers at once
            shared.appendShared(records, expectedSequence, producerId, producerSequence, listener, maxWaitMillis);
            return;
        }
        List<Runnable> after = new ArrayList<>(2);
        lock.lock();
        try {
            if (deleted) {
                throw deletedError("nothing was appended");
            }
            if (producerId != null && answeredAsDuplicate(producerId, producerSequence, listener, after)) {
                // nothing to append
            } else if (gate.mustHold(log.nextSequence() - 1, records.count())) {
                gate.hold(new PublishGate.Held(records, expectedSequence, producerId, producerSequence, listener,
                        maxWaitMillis), log.nextSequence() - 1, clock, this::expire);
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
        ProducerTable.Appended earlier = log.producerCheck().check(name, producerId, producerSequence);
        if (earlier == null) {
            return false;
        }
        long first = earlier.firstSequence();
        int count = earlier.count();
        long last = first + count - 1;
        if (visibility.isVisible(last) || !durability.awaitStored(last, failure -> {
            if (failure == null) {
                listener.duplicate(first, count);
            } else {
                listener.appended(0, 0, failure);
            }
        })) {
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
        // registered under the lock, so this stream's callbacks run in sequence order
        if (durability.awaitStored(last, failure -> {
            if (failure == null) {
                makeVisible(last + 1);
            }
            listener.appended(first, count, failure);
        })) {
            return;
        }
        List<Waiter> toWake = visibility.advance(last + 1);
        after.add(() -> Visibility.wake(toWake));
        after.add(() -> listener.appended(first, count, null));
    }

    /** A held publish's deadline passed: fails it with TIMEOUT unless it was appended meanwhile. */
    private void expire(PublishGate.Held h) {
        String why;
        List<Runnable> after = new ArrayList<>(2);
        lock.lock();
        try {
            if (!gate.expire(h)) {
                return; // appended meanwhile
            }
            why = gate.why(log.nextSequence() - 1);
            releaseHeld(after); // a smaller publish behind it may fit now
        } finally {
            lock.unlock();
            after.forEach(Runnable::run);
        }
        h.listener.appended(0, 0, new BrokerException(ErrorCode.TIMEOUT, "publish to stream '" + name
                + "' waited " + h.maxWaitMillis + " ms for " + why + "; nothing was appended"));
    }

    /** Under the lock: appends the held publishes that fit now, in order. */
    private void releaseHeld(List<Runnable> after) {
        PublishGate.Held h;
        while ((h = gate.first()) != null) {
            // an idempotent batch is judged again now (a copy held ahead of it may have been appended
            // meanwhile); a duplicate or an out-of-order one is answered without waiting for the gate
            boolean settled;
            try {
                settled = h.producerId != null
                        && answeredAsDuplicate(h.producerId, h.producerSequence, h.listener, after);
            } catch (BrokerException e) {
                PublishGate.Held failed = h;
                after.add(() -> failed.listener.appended(0, 0, e));
                settled = true;
            }
            if (!settled && !gate.allows(log.nextSequence() - 1, h.records.count())) {
                return;
            }
            gate.release();
            if (settled) {
                continue;
            }
            PublishGate.Held released = h;
            try {
                appendLocked(h.records, h.expectedSequence, h.producerId, h.producerSequence, h.listener, after);
            } catch (BrokerException e) {
                after.add(() -> released.listener.appended(0, 0, e));
            } catch (RuntimeException e) {
                // storage failed: answer this publish; the ones still held time out or fail the same way
                after.add(() -> released.listener.appended(0, 0, new BrokerException(ErrorCode.INTERNAL,
                        "stream '" + name + "' could not append: " + e.getMessage())));
            }
        }
    }

    // ------------------------------------------------------------------ deletion

    /**
     * DELETE_STREAM, called by the registry under its monitor: marks this stream deleted, fails its
     * held publishes with {@link ErrorCode#NOT_FOUND}, forgets its durable consumers (in memory; the
     * registry has the store forget their positions) and wakes every subscription reading it, which
     * then ends with SUBSCRIPTION_CLOSED {@code NOT_FOUND}. Appends, reads and consumer attaches on
     * this object fail from now on; the registry closes the log afterwards.
     */
    void delete() {
        List<Runnable> after = new ArrayList<>();
        lock.lock();
        try {
            deleted = true;
            while (gate.first() != null) {
                PublishGate.Held h = gate.release();
                BrokerException e = deletedError("the publish was held and nothing was appended");
                after.add(() -> h.listener.appended(0, 0, e));
            }
            consumers.clear();
        } finally {
            lock.unlock();
        }
        after.forEach(Runnable::run);
        readers.forEach(Waiter::wake);
    }

    /** Whether DELETE_STREAM deleted this stream (a new one may exist under the same name). */
    boolean isDeleted() {
        return deleted;
    }

    /** The error for using a deleted stream. */
    BrokerException deletedError(String what) {
        return new BrokerException(ErrorCode.NOT_FOUND, "stream '" + name + "' was deleted; " + what);
    }

    /** A subscription starts reading this stream (woken on deletion). */
    void readerStarted(Waiter w) {
        readers.add(w);
        if (deleted) {
            w.wake();
        }
    }

    /** A subscription stopped reading this stream. */
    void readerClosed(Waiter w) {
        readers.remove(w);
    }

    // ------------------------------------------------------------------ durable consumers

    /** Where consumer positions are kept; set once by the registry before use. */
    void positions(ConsumerPositions p, java.util.Map<String, ConsumerPositions.Saved> saved) {
        lock.lock();
        try {
            consumers.load(p, saved);
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
            if (deleted) {
                throw deletedError("consumer '" + consumer + "' was deleted with it");
            }
            ConsumerStates.State c = consumers.get(consumer);
            if (stored != null) {
                if (c == null) {
                    c = consumers.add(consumer, stored.acked(), stored.maxLag());
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
                c = consumers.add(consumer, start - 1, maxLag);
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
                if (consumers.maxLag(c, maxLag)) {
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

    /**
     * Drops records below {@code before} as far as the log allows (TRIM_STREAM).
     *
     * @return the first sequence retained after it
     * @throws UnsupportedOperationException when the store cannot trim on demand
     */
    long trimBefore(long before) {
        lock.lock();
        try {
            if (deleted) {
                throw deletedError("nothing to trim");
            }
            return log.trimBefore(before);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Deletes a durable consumer no subscription is attached to (DELETE_CONSUMER); publishes its
     * lag held back go on.
     *
     * @return false when the stream has no such consumer
     */
    boolean deleteConsumer(String consumer) {
        List<Runnable> after = new ArrayList<>(2);
        lock.lock();
        try {
            if (!consumers.remove(consumer)) {
                return false;
            }
            releaseHeld(after);
            return true;
        } finally {
            lock.unlock();
            after.forEach(Runnable::run);
        }
    }

    /** A subscription of the consumer ended. */
    void detachConsumer(String consumer) {
        lock.lock();
        try {
            consumers.detach(consumer);
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
            if (consumers.acknowledge(consumer, Math.min(sequence, log.nextSequence() - 1), onStored, after)) {
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
            existing = consumers.names();
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
            return gate.held();
        } finally {
            lock.unlock();
        }
    }

    /** Seconds publishes spent held, summed over those no longer held. */
    double heldSeconds() {
        lock.lock();
        try {
            return gate.heldNanos() / 1e9;
        } finally {
            lock.unlock();
        }
    }

    /** Publishes failed by the gate: held too long, or too many held. */
    long gateRejected() {
        lock.lock();
        try {
            return gate.rejected();
        } finally {
            lock.unlock();
        }
    }

    /** Records after the consumer's acknowledged sequence (NaN when there is no such consumer). */
    double consumerLag(String consumer) {
        lock.lock();
        try {
            return consumers.lag(consumer, log.nextSequence() - 1);
        } finally {
            lock.unlock();
        }
    }

    /** The consumer's acknowledged sequence (NaN when there is no such consumer). */
    double consumerAcked(String consumer) {
        lock.lock();
        try {
            return consumers.acked(consumer);
        } finally {
            lock.unlock();
        }
    }

    /** What CONSUMERS reports of a stream: its end, its gate's figures and its durable consumers. */
    record ConsumerReport(long lastSequence, int heldPublishes, long heldMillis, long rejectedPublishes,
                          List<ConsumerStates.Snapshot> consumers) {
        static final ConsumerReport NONE = new ConsumerReport(0, 0, 0, 0, List.of());
    }

    /** The stream's consumers and gate, read together under the lock. */
    ConsumerReport consumerReport() {
        lock.lock();
        try {
            return new ConsumerReport(log.nextSequence() - 1, gate.held(),
                    java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(gate.heldNanos()), gate.rejected(),
                    consumers.snapshot());
        } finally {
            lock.unlock();
        }
    }

    private void makeVisible(long next) {
        List<Waiter> toWake;
        lock.lock();
        try {
            toWake = visibility.advance(next);
        } finally {
            lock.unlock();
        }
        Visibility.wake(toWake);
    }

    /**
     * Reads records from {@code from}; when there are none yet, registers {@code waiter} to be woken
     * by the next append.
     */
    public ReadStatus read(long from, int maxRecords, int maxBytes, List<StreamLog.Slice> out, Waiter waiter) {
        lock.lock();
        try {
            if (deleted) {
                return ReadStatus.DELETED;
            }
            if (from < log.firstSequence()) {
                return ReadStatus.NOT_RETAINED;
            }
            if (!visibility.isVisible(from)) {
                if (waiter != null) {
                    visibility.await(waiter);
                }
                return ReadStatus.WAITING;
            }
            log.read(from, (int) Math.min(maxRecords, visibility.next() - from), maxBytes, out);
            return ReadStatus.RECORDS;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets a waiter (a closed cursor). */
    public void removeWaiter(Waiter waiter) {
        lock.lock();
        try {
            visibility.forget(waiter);
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
        lock.lock();
        try {
            firstRetained = Math.max(firstRetained, log.firstRetainedNow()); // another broker may have trimmed more
        } finally {
            lock.unlock();
        }
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
