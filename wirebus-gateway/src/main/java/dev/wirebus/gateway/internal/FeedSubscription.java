package dev.wirebus.gateway.internal;

import dev.wirebus.client.Message;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletableFuture;

/**
 * One gateway subscriber of a {@link StreamFeed}: what {@link StreamFeeds#subscribe} returns, with
 * the contract of a client {@link Subscription}. It starts {@link Mode#PENDING} (the feed has not
 * started yet), then either {@link Mode#LIVE} (attached to the feed at {@link #from}) or
 * {@link Mode#CATCHING_UP} (a dedicated client subscription delivers older history until it reaches
 * the feed's ring, then it is switched to {@link Mode#LIVE}), and ends {@link Mode#ENDED}.
 *
 * <p>The handler is called by one thread at a time, in sequence order, each sequence once: the
 * dedicated subscription's dispatch thread while catching up, then (after a switch made under the
 * feed's lock) the thread that attached it, replaying from the ring, and the feed's dispatch thread.
 */
final class FeedSubscription implements Subscription {
    private static final Logger log = LoggerFactory.getLogger(FeedSubscription.class);

    /** Where the subscriber stands. Written under the feed's lock. */
    enum Mode { PENDING, CATCHING_UP, LIVE, ENDED }

    private final StreamFeed feed;
    final StartPosition start;
    private final MessageHandler handler;
    private final CompletableFuture<Long> started = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    volatile Mode mode = Mode.PENDING;
    /** In {@link Mode#LIVE}: the first sequence the feed hands to this subscriber (earlier ones are skipped). */
    volatile long from;
    /** In {@link Mode#CATCHING_UP}: the dedicated client subscription (null until it is opened). */
    volatile Subscription dedicated;
    private volatile long lastDelivered;

    FeedSubscription(StreamFeed feed, StartPosition start, MessageHandler handler) {
        this.feed = feed;
        this.start = start;
        this.handler = handler;
    }

    /** Hands one message to the handler; a failing handler is logged and the next message follows. */
    void deliver(Message m) {
        try {
            handler.onMessage(m);
        } catch (Exception e) {
            log.warn("handler of a gateway subscription to '{}' failed on sequence {}", m.stream(), m.sequence(), e);
        }
        lastDelivered = m.sequence();
    }

    void completeStarted(long first) {
        started.complete(first);
    }

    /** Ends the subscription as its source did: exceptionally with {@code failure}, or normally when null. */
    void end(Throwable failure) {
        Subscription d = dedicated;
        if (d != null) {
            d.close();
        }
        if (failure == null) {
            started.cancel(false);
            closed.complete(null);
        } else {
            started.completeExceptionally(failure);
            closed.completeExceptionally(failure);
        }
    }

    @Override
    public String stream() {
        return feed.stream;
    }

    @Override
    public CompletableFuture<Long> started() {
        return started;
    }

    @Override
    public CompletableFuture<Void> closed() {
        return closed;
    }

    @Override
    public long lastDeliveredSequence() {
        return lastDelivered;
    }

    @Override
    public CompletableFuture<Void> ack(long sequence) {
        throw new IllegalStateException("subscription to '" + feed.stream + "' is not a durable consumer's: nothing to ack");
    }

    @Override
    public void close() {
        if (feed.remove(this)) {
            end(null);
        }
    }

    @Override
    public String toString() {
        return "FeedSubscription[" + feed.stream + " from " + start + ", " + mode + "]";
    }
}
