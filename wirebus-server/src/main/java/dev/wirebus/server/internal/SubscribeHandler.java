package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import io.netty.channel.Channel;

import java.util.concurrent.TimeUnit;

/**
 * SUBSCRIBE, CREDIT and UNSUBSCRIBE: opens a plain subscription (a {@link SubscriptionCursor}
 * reading the stream from its start position under the client's credits), grants credits, and
 * closes it. A subscription to a stream that does not exist yet waits for its first publish.
 */
final class SubscribeHandler {
    private SubscribeHandler() {
    }

    static void subscribe(ConnectionHandler c, Frame.Subscribe f) {
        c.refuseWhenShuttingDown();
        refuseOpenId(c, f.subscriptionId());
        BrokerContext broker = c.broker();
        Stream stream = broker.streams().attach(f.stream()); // counts a subscriber; creates nothing
        try {
            long start = stream.resolveStart(f.startKind(), f.startSequence());
            open(c, f.requestId(), f.subscriptionId(), new SubscriptionCursor(c.channel(), f.subscriptionId(), stream,
                    start, f.credits(), null, false, broker.metrics(),
                    cursor -> c.subscriptions().remove(cursor.subscriptionId(), cursor),
                    broker.config().maxFrameLength()), start);
        } catch (RuntimeException e) {
            stream.subscriberClosed();
            throw e;
        }
    }

    static void credit(ConnectionHandler c, Frame.Credit f) {
        SubscriptionCursor cursor = c.subscriptions().get(f.subscriptionId());
        // a CREDIT may cross a SUBSCRIPTION_CLOSED or an UNSUBSCRIBE in flight: ignore it then
        if (cursor != null) {
            cursor.grant(f.credits());
        }
    }

    static void unsubscribe(ConnectionHandler c, Frame.Unsubscribe f) {
        SubscriptionCursor cursor = c.subscriptions().remove(f.subscriptionId());
        if (cursor == null) {
            throw new BrokerException(ErrorCode.UNKNOWN_SUBSCRIPTION,
                    "no open subscription " + f.subscriptionId() + " on this connection");
        }
        cursor.close();
        c.channel().write(new Frame.Ok(f.requestId()));
    }

    /** Refuses a subscription id already open on the connection. */
    static void refuseOpenId(ConnectionHandler c, int subscriptionId) {
        if (c.subscriptions().containsKey(subscriptionId)) {
            throw new BrokerException(ErrorCode.DUPLICATE_SUBSCRIPTION,
                    "subscription id " + subscriptionId + " is already open on this connection");
        }
    }

    /**
     * Registers the cursor, answers SUBSCRIBED and starts delivering (after the broker's
     * subscription set-up delay, a test hook that is zero in production).
     */
    static void open(ConnectionHandler c, long requestId, int subscriptionId, SubscriptionCursor cursor, long start) {
        c.subscriptions().put(subscriptionId, cursor);
        Channel channel = c.channel();
        Runnable begin = () -> {
            if (c.subscriptions().get(subscriptionId) == cursor && channel.isActive()) {
                channel.write(new Frame.Subscribed(requestId, subscriptionId, start));
                cursor.start();
            }
        };
        long delay = c.broker().subscribeSetupDelayMillis();
        if (delay > 0) {
            channel.eventLoop().schedule(() -> {
                begin.run();
                channel.flush();
            }, delay, TimeUnit.MILLISECONDS);
        } else {
            begin.run();
        }
    }
}
