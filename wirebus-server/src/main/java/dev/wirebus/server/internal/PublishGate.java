package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import dev.wirebus.protocol.RecordBatch;

import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * The consumer gate of one stream: publishes held back, in arrival order, while a gating durable
 * consumer lags by its maximum ({@link LagLimit}), each until the lag makes room or its deadline
 * passes. Bounded in count and bytes: beyond that a publish is refused with
 * {@link ErrorCode#BACKPRESSURE}. Keeps the figures CONSUMERS and the metrics report (held now,
 * time spent held, publishes refused).
 *
 * <p>Not thread-safe: guarded by the stream's lock. Deadlines run on the {@link DeadlineClock} each
 * publish was held with, and call back into the stream, which takes its lock.
 */
final class PublishGate {
    static final int MAX_HELD_PUBLISHES = 100_000;
    static final long MAX_HELD_BYTES = 64L * 1024 * 1024;
    /** The retry-after hint of a BACKPRESSURE error (protocol version 2 field retryAfterMillis). */
    static final long BACKPRESSURE_RETRY_AFTER_MILLIS = 100;

    /** A publish held back until it may be appended or its deadline passes. */
    static final class Held {
        final RecordBatch records;
        final long expectedSequence;
        final String producerId;
        final long producerSequence;
        final Stream.AppendListener listener;
        final long maxWaitMillis;
        private DeadlineClock clock;
        private long heldAtNanos;
        private DeadlineClock.Deadline deadline;

        Held(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
             Stream.AppendListener listener, long maxWaitMillis) {
            this.records = records;
            this.expectedSequence = expectedSequence;
            this.producerId = producerId;
            this.producerSequence = producerSequence;
            this.listener = listener;
            this.maxWaitMillis = maxWaitMillis;
        }
    }

    private final String stream;
    private final LagLimit lag;
    private final int maxHeld;
    private final long maxHeldBytes;
    private final ArrayDeque<Held> held = new ArrayDeque<>();
    private long heldBytes;
    private long heldNanosTotal;
    private long rejected;

    PublishGate(String stream, LagLimit lag) {
        this(stream, lag, MAX_HELD_PUBLISHES, MAX_HELD_BYTES);
    }

    PublishGate(String stream, LagLimit lag, int maxHeld, long maxHeldBytes) {
        this.stream = stream;
        this.lag = lag;
        this.maxHeld = maxHeld;
        this.maxHeldBytes = maxHeldBytes;
    }

    /**
     * Whether a publish of {@code count} records must wait: publishes are held already (it queues
     * behind them), or it would take a gating consumer past its lag.
     */
    boolean mustHold(long lastSequence, int count) {
        return !held.isEmpty() || !lag.allows(lastSequence, count);
    }

    /** Whether {@code count} more records keep every gating consumer within its lag. */
    boolean allows(long lastSequence, int count) {
        return lag.allows(lastSequence, count);
    }

    /**
     * Holds a publish until {@link #release} or, after its {@code maxWaitMillis}, calls
     * {@code onDeadline} on the clock's thread (which then calls {@link #expire}).
     *
     * @throws BrokerException {@link ErrorCode#BACKPRESSURE} when the gate is full; nothing is held then
     */
    void hold(Held h, long lastSequence, DeadlineClock clock, Consumer<Held> onDeadline) {
        if (held.size() >= maxHeld || heldBytes + h.records.sizeInBytes() > maxHeldBytes) {
            rejected++;
            throw new BrokerException(ErrorCode.BACKPRESSURE, "stream '" + stream + "' holds " + held.size()
                    + " publishes (" + heldBytes + " bytes) waiting for " + why(lastSequence),
                    ErrorFields.of(ErrorFields.RETRY_AFTER_MILLIS, BACKPRESSURE_RETRY_AFTER_MILLIS));
        }
        h.clock = clock;
        h.heldAtNanos = clock.nanoTime();
        held.add(h);
        heldBytes += h.records.sizeInBytes();
        h.deadline = clock.schedule(() -> onDeadline.accept(h), h.maxWaitMillis);
    }

    /** The oldest held publish, or null. */
    Held first() {
        return held.peek();
    }

    /** Lets the oldest held publish go (to be appended or answered): calls off its deadline. */
    Held release() {
        Held h = held.poll();
        h.deadline.cancel();
        settle(h);
        return h;
    }

    /**
     * The publish's deadline passed: lets it go, counted as refused.
     *
     * @return false when it was not held any more (released meanwhile)
     */
    boolean expire(Held h) {
        if (!held.remove(h)) {
            return false;
        }
        rejected++;
        settle(h);
        return true;
    }

    private void settle(Held h) {
        heldBytes -= h.records.sizeInBytes();
        heldNanosTotal += h.clock.nanoTime() - h.heldAtNanos;
    }

    /** What the held publishes wait for, for error messages. */
    String why(long lastSequence) {
        String d = lag.describe(lastSequence);
        return d.isEmpty() ? "the publishes ahead of it" : d;
    }

    /** Publishes held now. */
    int held() {
        return held.size();
    }

    /** Bytes of the held publishes' records. */
    long heldBytes() {
        return heldBytes;
    }

    /** Nanoseconds publishes spent held, summed over those no longer held. */
    long heldNanos() {
        return heldNanosTotal;
    }

    /** Publishes refused: held past their deadline, or arriving at a full gate. */
    long rejected() {
        return rejected;
    }
}
