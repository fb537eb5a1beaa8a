package dev.wirebus.client;

/**
 * Where a publish landed: sequences {@code [firstSequence, firstSequence + count)}. For an
 * idempotent publish that the broker had appended before, {@code duplicate} is true and the
 * sequences are those of the first append.
 *
 * <pre>{@code
 * PublishAck ack = client.publishBatch("tx", payloads).join();
 * long last = ack.lastSequence();
 * }</pre>
 */
public record PublishAck(long firstSequence, int count, boolean duplicate) {
    /** A first append. */
    public PublishAck(long firstSequence, int count) {
        this(firstSequence, count, false);
    }

    /** The sequence of the last message of the batch. */
    public long lastSequence() {
        return firstSequence + count - 1;
    }
}
