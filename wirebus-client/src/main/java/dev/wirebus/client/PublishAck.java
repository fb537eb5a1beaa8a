package dev.wirebus.client;

/**
 * Where a batch publish landed: sequences {@code [firstSequence, firstSequence + count)}.
 *
 * <pre>{@code
 * PublishAck ack = client.publishBatch("tx", payloads).join();
 * long last = ack.lastSequence();
 * }</pre>
 */
public record PublishAck(long firstSequence, int count) {
    /** The sequence of the last message of the batch. */
    public long lastSequence() {
        return firstSequence + count - 1;
    }
}
