package dev.wirebus.client;

import java.util.concurrent.CompletableFuture;

/**
 * An open subscription: a cursor over a stream's log, from its start position onwards, that
 * survives reconnects. After a lost connection the client re-subscribes from the sequence after
 * the last one it received, so the handler sees every message once, in order.
 *
 * <pre>{@code
 * try (Subscription sub = client.subscribe("blocks", StartPosition.sequence(1), handler)) {
 *     long first = sub.started().join();
 *     ...
 * }
 * }</pre>
 *
 * <p>Thread-safe. Closing it stops delivery; messages already received but not yet handled are dropped.
 */
public interface Subscription extends AutoCloseable {
    /** The stream subscribed to. */
    String stream();

    /** Completes with the sequence of the first message to be delivered once the broker confirms the subscription. */
    CompletableFuture<Long> started();

    /**
     * Completes when the subscription ends: normally after {@link #close()}, exceptionally when the
     * broker ended it (for example {@code SEQUENCE_NOT_RETAINED}) or the client gave up reconnecting.
     */
    CompletableFuture<Void> closed();

    /** Sequence of the last message handed to the handler, 0 before the first. */
    long lastDeliveredSequence();

    /**
     * Acknowledges every message up to and including {@code sequence} for this subscription's
     * durable consumer; completes once the broker stored the position.
     *
     * @throws IllegalStateException when the subscription is not a durable consumer's
     */
    CompletableFuture<Void> ack(long sequence);

    /** Stops delivery and tells the broker. Idempotent. */
    @Override
    void close();
}
