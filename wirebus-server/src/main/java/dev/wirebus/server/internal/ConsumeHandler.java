package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;

import java.util.ArrayList;
import java.util.List;

/**
 * CONSUME, ACK and CONSUMERS: attaches a subscription of a named durable consumer (which starts
 * after its acknowledged sequence and may gate publishers by its maximum lag), records its
 * acknowledgements, and lists a stream's consumers.
 */
final class ConsumeHandler {
    private ConsumeHandler() {
    }

    static void consume(ConnectionHandler c, Frame.Consume f) {
        c.refuseWhenShuttingDown();
        SubscribeHandler.refuseOpenId(c, f.subscriptionId());
        StreamRegistry.checkName("consumer", f.consumer());
        BrokerContext broker = c.broker();
        Stream stream = broker.streams().attach(f.stream()); // counts a subscriber; creates nothing
        try {
            long start = stream.attachConsumer(f.consumer(), f.startKind(), f.startSequence(),
                    f.resume() ? Math.max(1, f.startSequence()) : 0, f.maxLag());
            SubscribeHandler.open(c, f.requestId(), f.subscriptionId(), new SubscriptionCursor(c.channel(),
                    f.subscriptionId(), stream, start, f.credits(), f.consumer(),
                    f.ackMode() == Frame.Consume.ACK_ON_DELIVERY, broker.metrics(),
                    cursor -> c.subscriptions().remove(cursor.subscriptionId(), cursor),
                    broker.config().maxFrameLength()), start);
        } catch (RuntimeException e) {
            stream.subscriberClosed();
            throw e;
        }
    }

    static void ack(ConnectionHandler c, Frame.Ack f) {
        SubscriptionCursor cursor = c.subscriptions().get(f.subscriptionId());
        if (cursor == null || cursor.consumer() == null) {
            if (f.requestId() != 0) {
                throw new BrokerException(ErrorCode.UNKNOWN_SUBSCRIPTION, "no open consumer subscription "
                        + f.subscriptionId() + " on this connection");
            }
            return;
        }
        cursor.stream().acknowledge(cursor.consumer(), f.sequence(),
                f.requestId() == 0 ? () -> { } : () -> c.reply(new Frame.Ok(f.requestId())));
    }

    static void consumers(ConnectionHandler c, Frame.Consumers f) {
        StreamRegistry.checkName("stream", f.stream());
        Stream s = c.broker().streams().get(f.stream());
        Stream.ConsumerReport r = s == null ? Stream.ConsumerReport.NONE : s.consumerReport();
        List<Frame.ConsumerInfo> consumers = new ArrayList<>(r.consumers().size());
        for (ConsumerStates.Snapshot cs : r.consumers()) {
            consumers.add(new Frame.ConsumerInfo(cs.name(), cs.acked(), cs.maxLag(), cs.connected()));
        }
        c.channel().write(new Frame.ConsumerList(f.requestId(), r.lastSequence(), r.heldPublishes(), r.heldMillis(),
                r.rejectedPublishes(), consumers));
    }
}
