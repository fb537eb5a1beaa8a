package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.Message;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.ProtocolViolationException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client side of a subscription. Received messages queue here (at most the window, because
 * the broker sends only what credits allow) and a dispatch task hands them to the handler one at a
 * time; every half window handled is granted back as credits. {@code nextSequence} is the sequence
 * after the last message received, where a re-subscription after a reconnect starts, so nothing
 * is skipped or repeated.
 */
final class ClientSubscription implements Subscription {
    private final Subscriptions owner;
    final int id;
    private final String stream;
    private final StartPosition start;
    private final SubscribeOptions options;
    private final MessageHandler handler;
    private final int window;
    private final Executor executor;
    /** Delivered frames not yet fully handled; messages are made from them on the dispatch thread. */
    private final ConcurrentLinkedQueue<Frame.Deliver> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicInteger handledSinceGrant = new AtomicInteger();
    private final AtomicBoolean dispatching = new AtomicBoolean();
    private final CompletableFuture<Long> started = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final Runnable dispatchTask = this::dispatch;
    /** I/O thread only: sequence after the last message received; 0 until the first SUBSCRIBED. */
    private long nextSequence;
    /** Dispatch thread only: the frame being handed over, and the index of its next record. */
    private Frame.Deliver current;
    private int currentIndex;
    private volatile long lastDelivered;
    private volatile boolean open = true;

    ClientSubscription(Subscriptions owner, int id, String stream, SubscribeOptions options,
                       MessageHandler handler, int window, Executor executor) {
        this.owner = owner;
        this.id = id;
        this.stream = stream;
        this.options = options;
        this.start = options.start();
        this.handler = handler;
        this.window = window;
        this.executor = executor;
    }

    /** The SUBSCRIBE frame for the first subscription or a re-subscription. I/O thread. */
    Frame subscribeFrame(long requestId) {
        int credits = Math.max(1, window - queued.get());
        handledSinceGrant.set(0);
        if (options.consumer() != null) {
            int ackMode = options.ackMode() == SubscribeOptions.AckMode.EXPLICIT
                    ? Frame.Consume.ACK_EXPLICIT : Frame.Consume.ACK_ON_DELIVERY;
            if (nextSequence > 0) {
                return new Frame.Consume(requestId, id, stream, options.consumer(), Frame.StartKind.SEQUENCE,
                        nextSequence, credits, ackMode, options.maxLag(), true);
            }
            Frame.StartKind kind = switch (start.kind()) {
                case EARLIEST -> Frame.StartKind.EARLIEST;
                case LATEST -> Frame.StartKind.LATEST;
                case SEQUENCE -> Frame.StartKind.SEQUENCE;
            };
            return new Frame.Consume(requestId, id, stream, options.consumer(), kind, start.sequence(), credits, ackMode,
                    options.maxLag(), false);
        }
        if (nextSequence > 0) {
            return new Frame.Subscribe(requestId, id, stream, Frame.StartKind.SEQUENCE, nextSequence, credits);
        }
        return switch (start.kind()) {
            case EARLIEST -> new Frame.Subscribe(requestId, id, stream, Frame.StartKind.EARLIEST, 0, credits);
            case LATEST -> new Frame.Subscribe(requestId, id, stream, Frame.StartKind.LATEST, 0, credits);
            case SEQUENCE -> new Frame.Subscribe(requestId, id, stream, Frame.StartKind.SEQUENCE, start.sequence(),
                    credits);
        };
    }

    /** The broker confirmed. I/O thread. */
    Long onSubscribed(Frame frame) {
        Frame.Subscribed s = (Frame.Subscribed) frame;
        if (nextSequence == 0) {
            nextSequence = s.startSequence();
        } else if (s.startSequence() != nextSequence) {
            throw new ProtocolViolationException(ErrorCode.MALFORMED_FRAME, "re-subscription of '" + stream
                    + "' from " + nextSequence + " was confirmed from " + s.startSequence());
        }
        started.complete(s.startSequence());
        return s.startSequence();
    }

    /** Messages arrived. I/O thread. */
    void onDeliver(Frame.Deliver d) {
        if (!open) {
            return;
        }
        if (d.firstSequence() != nextSequence) {
            // never expected from a correct broker: refuse to hand a gap or a duplicate to the handler
            owner.reportError(new ProtocolViolationException(ErrorCode.MALFORMED_FRAME, "subscription to '" + stream
                    + "' expected sequence " + nextSequence + " but the broker delivered " + d.firstSequence()));
            owner.forceReconnect();
            return;
        }
        int n = d.records().count();
        queue.add(d);
        nextSequence += n;
        queued.addAndGet(n);
        scheduleDispatch();
    }

    /** The broker ended the subscription, or refused to (re)open it. Any thread. */
    void onEndedByBroker(WirebusException reason) {
        if (!open) {
            return;
        }
        open = false;
        owner.forget(this);
        started.completeExceptionally(reason);
        closed.completeExceptionally(reason);
        owner.reportError(reason);
    }

    /** The client closed for good. */
    void onClientClosed(WirebusException reason) {
        if (!open) {
            return;
        }
        open = false;
        if (reason == null) {
            started.cancel(false);
            closed.complete(null);
        } else {
            started.completeExceptionally(reason);
            closed.completeExceptionally(reason);
        }
    }

    private void scheduleDispatch() {
        if (dispatching.compareAndSet(false, true)) {
            try {
                executor.execute(dispatchTask);
            } catch (RejectedExecutionException e) {
                dispatching.set(false);
                onClientClosed(new ConnectionException("dispatch executor refused work", e));
            }
        }
    }

    private void dispatch() {
        try {
            while (open) {
                if (current == null) {
                    current = queue.poll();
                    currentIndex = 0;
                    if (current == null) {
                        break;
                    }
                }
                RecordBatch records = current.records();
                long first = current.firstSequence();
                while (open && currentIndex < records.count()) {
                    Message m = new Message(stream, first + currentIndex, records.payload(currentIndex));
                    currentIndex++;
                    queued.decrementAndGet();
                    try {
                        handler.onMessage(m);
                    } catch (Exception e) {
                        owner.reportError(new WirebusException(ErrorCode.UNKNOWN, "handler of subscription to '"
                                + stream + "' failed on sequence " + m.sequence() + ": " + e, e));
                    }
                    lastDelivered = m.sequence();
                    int handled = handledSinceGrant.incrementAndGet();
                    if (handled >= window / 2 && handledSinceGrant.compareAndSet(handled, 0)) {
                        owner.grant(this, handled);
                    }
                }
                if (currentIndex >= records.count()) {
                    current = null;
                }
            }
        } finally {
            dispatching.set(false);
        }
        if (open && !queue.isEmpty()) {
            scheduleDispatch();
        }
    }

    @Override
    public CompletableFuture<Void> ack(long sequence) {
        if (options.consumer() == null) {
            throw new IllegalStateException("subscription to '" + stream + "' is not a durable consumer's: nothing to ack");
        }
        return owner.ack(this, sequence);
    }

    boolean isOpen() {
        return open;
    }

    @Override
    public String stream() {
        return stream;
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
    public void close() {
        closeAsync();
    }

    @Override
    public CompletableFuture<Void> closeAsync() {
        if (!open) {
            return closed.handle((v, e) -> null);
        }
        open = false;
        queue.clear();
        started.cancel(false);
        owner.unsubscribe(this).whenComplete((v, e) -> closed.complete(null));
        return closed;
    }
}
