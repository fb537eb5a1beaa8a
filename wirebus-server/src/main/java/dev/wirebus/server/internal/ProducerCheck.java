package dev.wirebus.server.internal;

/**
 * Duplicate detection of idempotent producers: judges a producer's batch before it is appended.
 * {@link ProducerTable} is the local implementation (kept by the stream's log, rebuilt from its
 * files); a store where other nodes append too would answer from its own shared producer state.
 * Called under the stream's lock.
 */
@FunctionalInterface
public interface ProducerCheck {
    /**
     * @return null when the batch is new and may be appended, or where it landed the first time
     * @throws BrokerException {@link dev.wirebus.protocol.ErrorCode#PRODUCER_SEQUENCE} when the
     *     producer sequence is out of order and not a batch remembered as appended
     */
    ProducerTable.Appended check(String stream, String producerId, long producerSequence);
}
