package dev.wirebus.server.internal;

import dev.wirebus.protocol.RecordBatch;

import java.util.function.LongConsumer;

/**
 * A stream log that several brokers append to at once (the Redis store): the store, not the
 * broker, decides each append's sequences, its expected-sequence and idempotent-producer checks and
 * the gate of durable consumers, so {@link Stream} hands appends over whole instead of checking them
 * against its own view. Records appended by any broker reach {@link #read} and are announced through
 * {@link #onVisible}; the stream then wakes its cursors.
 *
 * <p>Threading: {@link #appendShared} may be called from any thread, concurrently with reads; the
 * {@link StreamLog} methods stay under the stream's lock.
 */
public interface SharedStreamLog extends StreamLog {
    /**
     * Appends asynchronously; {@code listener} hears exactly once, on a thread of the store: the
     * sequences once the store acknowledged them, {@link Stream.AppendListener#duplicate} for a batch
     * the producer had appended before, or a failure ({@code BrokerException} with the protocol's
     * code: SEQUENCE_MISMATCH, PRODUCER_SEQUENCE, TIMEOUT when a gating consumer held it longer than
     * {@code maxWaitMillis}, BACKPRESSURE when too many are held or the store is unreachable).
     * Appends from one thread are applied in the order they were called.
     */
    void appendShared(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
                      Stream.AppendListener listener, long maxWaitMillis);

    /** Tells {@code visibleNext} each time records below the given sequence became readable. */
    void onVisible(LongConsumer visibleNext);

    /**
     * The consumer's position as every broker's acknowledgements left it, read from the store now
     * (blocking, bounded by the store's timeout), or null when the store has none.
     */
    ConsumerPositions.Saved storedConsumer(String consumer);
}
