package dev.wirebus.client;

import java.util.Objects;

/**
 * How a publish is made conditional or idempotent.
 *
 * <p>An <em>idempotent producer</em> names itself with a producer id and numbers its batches with
 * its own increasing producer sequence (starting at 1; gaps are allowed). The broker appends each
 * producer sequence at most once: a retry of a batch it already appended is acknowledged with the
 * original stream sequences ({@link PublishAck#duplicate()} is then true), also after a broker
 * restart. The client itself resends idempotent publishes that were in flight when a connection
 * was lost, until their deadline, so a caller sees one acknowledgement or a clear error.
 *
 * <pre>{@code
 * long next = 1;  // persisted by the producer with its own state, e.g. the block index
 * PublishAck ack = client.publish("blocks", block,
 *         PublishOptions.builder().producer("consensus-1", next).build()).join();
 * }</pre>
 *
 * <p>An <em>expected sequence</em> makes the append conditional on the stream's position, as in
 * {@link WirebusClient#publish(String, byte[], long)}; both can be combined.
 */
public final class PublishOptions {
    private static final PublishOptions NONE = new PublishOptions(0, null, 0);

    private final long expectedSequence;
    private final String producerId;
    private final long producerSequence;

    private PublishOptions(long expectedSequence, String producerId, long producerSequence) {
        this.expectedSequence = expectedSequence;
        this.producerId = producerId;
        this.producerSequence = producerSequence;
    }

    /** Options that add nothing: a plain publish. */
    public static PublishOptions none() {
        return NONE;
    }

    /** A builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The stream sequence the first message must land at, or 0 for any. */
    public long expectedSequence() {
        return expectedSequence;
    }

    /** The idempotent producer's id, or null. */
    public String producerId() {
        return producerId;
    }

    /** The producer's sequence for this batch (0 without a producer id). */
    public long producerSequence() {
        return producerSequence;
    }

    /** Whether the publish is idempotent. */
    public boolean idempotent() {
        return producerId != null;
    }

    @Override
    public String toString() {
        return "PublishOptions[expectedSequence=" + expectedSequence + ", producer=" + producerId + "#"
                + producerSequence + "]";
    }

    /** Builds {@link PublishOptions}. */
    public static final class Builder {
        private long expectedSequence;
        private String producerId;
        private long producerSequence;

        private Builder() {
        }

        /** Appends only if the first message lands at this sequence (the stream's last + 1). */
        public Builder expectedSequence(long sequence) {
            if (sequence < 1) {
                throw new IllegalArgumentException("expectedSequence must be at least 1, was " + sequence);
            }
            this.expectedSequence = sequence;
            return this;
        }

        /**
         * Makes the publish idempotent: {@code producerId} names the producer (1 to 200 characters
         * of {@code A-Z a-z 0-9 . _ : -}), {@code sequence} (at least 1) numbers this batch among the
         * producer's batches to this stream, increasing from one batch to the next.
         */
        public Builder producer(String producerId, long sequence) {
            Objects.requireNonNull(producerId, "producerId");
            if (sequence < 1) {
                throw new IllegalArgumentException("producer sequence must be at least 1, was " + sequence);
            }
            this.producerId = producerId;
            this.producerSequence = sequence;
            return this;
        }

        public PublishOptions build() {
            return new PublishOptions(expectedSequence, producerId, producerSequence);
        }
    }
}
