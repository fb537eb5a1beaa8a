package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ConsumeHandlerTest {
    private static Frame.Consume consume(long id, int sub, String consumer, int ackMode) {
        return new Frame.Consume(id, sub, "orders", consumer, Frame.StartKind.EARLIEST, 0, 100, ackMode, 0, false);
    }

    @Test
    void aConsumerResumesAfterItsAcknowledgedSequence() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.publish("orders", "a");
            c.publish("orders", "b");
            c.send(consume(10, 1, "billing", Frame.Consume.ACK_EXPLICIT));
            assertThat(c.next(Frame.Subscribed.class).startSequence()).isEqualTo(1);
            c.next(Frame.Deliver.class);
            c.send(new Frame.Ack(11, 1, 1));
            assertThat(c.next(Frame.Ok.class).requestId()).isEqualTo(11);
            c.send(new Frame.Unsubscribe(12, 1));
            c.next(Frame.Ok.class);

            c.send(consume(13, 2, "billing", Frame.Consume.ACK_EXPLICIT));
            assertThat(c.next(Frame.Subscribed.class).startSequence()).isEqualTo(2);
        }
    }

    @Test
    void anAckForNoConsumerSubscriptionIsRefusedOnlyWhenAnswered() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Subscribe(10, 1, "orders", Frame.StartKind.LATEST, 0, 10));
            c.next(Frame.Subscribed.class);
            c.send(new Frame.Ack(11, 1, 1));
            c.nextError(11, ErrorCode.UNKNOWN_SUBSCRIPTION);
            c.send(new Frame.Ack(0, 9, 1));
            assertThat(c.next()).isNull();
        }
    }

    @Test
    void consumersListsEachConsumerWithItsPosition() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.publish("orders", "a");
            c.send(consume(10, 1, "billing", Frame.Consume.ACK_EXPLICIT));
            c.next(Frame.Subscribed.class);
            c.next(Frame.Deliver.class);
            c.send(new Frame.Ack(0, 1, 1));
            c.send(new Frame.Consumers(12, "orders"));
            Frame.ConsumerList list = c.next(Frame.ConsumerList.class);
            assertThat(list.requestId()).isEqualTo(12);
            assertThat(list.lastSequence()).isEqualTo(1);
            assertThat(list.consumers()).containsExactly(new Frame.ConsumerInfo("billing", 1, 0, true));

            c.send(new Frame.Consumers(13, "nothing-here"));
            assertThat(c.next(Frame.ConsumerList.class).consumers()).isEmpty();
        }
    }

    @Test
    void aBadConsumerNameIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(consume(10, 1, "no spaces", Frame.Consume.ACK_EXPLICIT));
            c.nextError(10, ErrorCode.INVALID_ARGUMENT);
            assertThat(c.handler.subscriptions()).isEmpty();
        }
    }
}
