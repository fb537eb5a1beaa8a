package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.StoreChangedException;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.Frame;
import io.netty.channel.Channel;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client's open subscriptions: opening them, routing DELIVER and SUBSCRIPTION_CLOSED to them,
 * credits, acks, unsubscribing, and resuming every one after a reconnect (or a failover to
 * another node) from the sequence after the last message received. Change resume here; the
 * per-subscription queue, credit window and dispatch to the handler are in {@link ClientSubscription}.
 */
final class Subscriptions {
    private final Connection connection;
    private final CallTable calls;
    private final Executor dispatch;
    private final int window;
    private final Map<Integer, ClientSubscription> open = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();

    Subscriptions(Connection connection, CallTable calls, Executor dispatch, int window) {
        this.connection = connection;
        this.calls = calls;
        this.dispatch = dispatch;
        this.window = window;
    }

    /** Opens a subscription; registered and sent on the I/O thread, so a reconnect cannot send it twice. */
    Subscription subscribe(String stream, SubscribeOptions options, MessageHandler handler) {
        ClientSubscription s = new ClientSubscription(this, ids.incrementAndGet(), stream, options, handler, window,
                dispatch);
        if (connection.state() == dev.wirebus.client.ConnectionState.CLOSED) {
            s.onClientClosed(connection.closedException());
            return s;
        }
        try {
            connection.loop().execute(() -> {
                if (connection.state() == dev.wirebus.client.ConnectionState.CLOSED) {
                    s.onClientClosed(connection.closedException());
                    return;
                }
                open.put(s.id, s);
                Channel ch = connection.channel();
                if (ch != null && s.isOpen()) {
                    sendSubscribe(ch, s);
                    ch.flush();
                }
                // otherwise the subscription goes out with the others once the connection is back
            });
        } catch (RejectedExecutionException e) {
            s.onClientClosed(connection.closedException());
        }
        return s;
    }

    /**
     * I/O thread, after a handshake: re-subscribes every open subscription from where it stopped.
     * When the broker came back with another store, resuming by sequence would silently skip or
     * repeat, so the subscriptions end, visibly, with {@link StoreChangedException}.
     */
    void restore(Channel ch, Frame.Welcome w, boolean storeChanged) {
        if (storeChanged) {
            WirebusException lost = new StoreChangedException("broker " + connection.target()
                    + " came back with a different store (id now " + w.storeId() + "): the streams' history was lost, "
                    + "so subscriptions cannot resume without a gap; subscribe again explicitly");
            for (ClientSubscription s : open.values()) {
                s.onEndedByBroker(lost);
            }
        }
        for (ClientSubscription s : open.values()) {
            if (s.isOpen()) {
                sendSubscribe(ch, s);
            }
        }
    }

    /** I/O thread: (re)sends a SUBSCRIBE; the answer confirms it or ends it. No flush. */
    private void sendSubscribe(Channel ch, ClientSubscription s) {
        Frame frame = s.subscribeFrame(calls.nextId());
        Call<Long> call = calls.newCall(frame, false, () -> "SUBSCRIBE to stream '" + s.stream() + "'", s::onSubscribed);
        call.future.whenComplete((v, e) -> {
            if (e instanceof WirebusException w && !(e instanceof ConnectionException)) {
                s.onEndedByBroker(w);
            }
        });
        connection.writeNow(ch, call);
    }

    /** I/O thread: messages for a subscription (dropped when it is no longer open). */
    void onDeliver(Frame.Deliver d) {
        ClientSubscription s = open.get(d.subscriptionId());
        if (s != null) {
            s.onDeliver(d);
        }
    }

    /** I/O thread: the broker ended a subscription. */
    void onSubscriptionClosed(Frame.SubscriptionClosed c) {
        ClientSubscription s = open.get(c.subscriptionId());
        if (s != null) {
            s.onEndedByBroker(Errors.of(new Frame.Error(0, c.code(), c.message(), c.fields())));
        }
    }

    /** The client closed: every subscription ends ({@code reason} null when the user closed the client). */
    void closeAll(WirebusException reason) {
        for (ClientSubscription s : open.values()) {
            s.onClientClosed(reason);
        }
        open.clear();
    }

    int size() {
        return open.size();
    }

    // ---------------------------------------------------------------- for ClientSubscription

    CompletableFuture<Void> ack(ClientSubscription s, long sequence) {
        return connection.send(calls.newCall(new Frame.Ack(calls.nextId(), s.id, sequence), false,
                () -> "ACK of " + sequence + " on stream '" + s.stream() + "'", f -> null));
    }

    /** Returns credits to the broker for messages the handler finished. Any thread. */
    void grant(ClientSubscription s, int credits) {
        connection.onLoop(() -> {
            Channel ch = connection.channel();
            if (ch != null && s.isOpen()) {
                ch.writeAndFlush(new Frame.Credit(0, s.id, credits), ch.voidPromise());
            }
        });
    }

    /**
     * Forgets the subscription and tells the broker; completes when the broker answered the
     * UNSUBSCRIBE (at once when not connected: a re-subscription will not include it).
     */
    CompletableFuture<Void> unsubscribe(ClientSubscription s) {
        open.remove(s.id, s);
        if (connection.state() != dev.wirebus.client.ConnectionState.CONNECTED) {
            return CompletableFuture.completedFuture(null);
        }
        return connection.send(calls.newCall(new Frame.Unsubscribe(calls.nextId(), s.id), false,
                () -> "UNSUBSCRIBE from stream '" + s.stream() + "'", f -> null));
    }

    void forget(ClientSubscription s) {
        open.remove(s.id, s);
    }

    void reportError(Throwable t) {
        connection.reportError(t);
    }

    /** A subscription saw a gap or a duplicate: reconnect, so every subscription resumes where it stopped. */
    void forceReconnect() {
        connection.forceReconnect();
    }
}
