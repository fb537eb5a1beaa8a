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
     * Completes when the subscription ends: normally once the broker answered the UNSUBSCRIBE sent
     * by {@link #close()}, exceptionally when the
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

    /**
     * Stops delivery at once and sends UNSUBSCRIBE; does not wait (safe on any thread, an event
     * loop included). Idempotent. {@link #closeAsync()} or {@link #closed()} tell when the broker
     * confirmed.
     */
    @Override
    void close();

    /**
     * {@link #close()}, returning a future that completes once the broker answered the
     * UNSUBSCRIBE, so no message of this subscription is on its way any more (at once when the
     * client is not connected; the answer's deadline is the client's request timeout, and the
     * future completes normally whatever the answer: the subscription is gone from the client).
     * The same future as {@link #closed()} after a close by the user.
     */
    default CompletableFuture<Void> closeAsync() {
        close();
        return closed();
    }
}
