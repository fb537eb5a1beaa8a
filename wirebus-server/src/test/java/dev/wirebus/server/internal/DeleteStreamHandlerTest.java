package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** DELETE_STREAM on the broker's handlers (memory store, EmbeddedChannel): what it answers and ends. */
class DeleteStreamHandlerTest {
    @Test
    void deletesOnceThenNotFoundAndAPublishStartsOverInANewEpoch() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.publish("orders", "a");
            c.publish("orders", "b");
            long epoch = c.broker.storage().storeId();
            int streams = c.broker.streams().size();
            c.send(new Frame.DeleteStream(5, "orders"));
            assertThat(c.next(Frame.Ok.class).requestId()).isEqualTo(5);
            assertThat(c.broker.streams().size()).isEqualTo(streams - 1);
            assertThat(c.broker.storage().storeId()).isNotEqualTo(epoch);
            c.send(new Frame.DeleteStream(6, "orders"));
            assertThat(c.nextError(6, ErrorCode.NOT_FOUND).message()).isEqualTo("no stream 'orders'");
            c.send(new Frame.Publish(7, "orders", 0, new byte[] {1}));
            assertThat(c.next(Frame.PublishAck.class).firstSequence()).isEqualTo(1);
        }
    }

    @Test
    void aStreamOnlyAwaitedBySubscribersIsNotFoundAndItsWaitersStay() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Subscribe(10, 1, "later", Frame.StartKind.EARLIEST, 0, 10));
            c.next(Frame.Subscribed.class);
            c.send(new Frame.DeleteStream(11, "later"));
            c.nextError(11, ErrorCode.NOT_FOUND);
            c.publish("later", "a");
            assertThat(c.next(Frame.Deliver.class).firstSequence()).isEqualTo(1);
        }
    }

    @Test
    void subscriptionsWithAndWithoutCreditsEndWithNotFound() {
        try (EmbeddedConnection c = EmbeddedConnection.open(); EmbeddedConnection admin = c.another()) {
            c.publish("orders", "a");
            c.send(new Frame.Subscribe(10, 1, "orders", Frame.StartKind.EARLIEST, 0, 1));
            c.next(Frame.Subscribed.class);
            c.next(Frame.Deliver.class); // its only credit is spent: it does not wait on the stream
            c.send(new Frame.Subscribe(11, 2, "orders", Frame.StartKind.LATEST, 0, 10));
            c.next(Frame.Subscribed.class);
            admin.send(new Frame.DeleteStream(12, "orders"));
            admin.next(Frame.Ok.class);
            Frame.SubscriptionClosed a = c.next(Frame.SubscriptionClosed.class);
            Frame.SubscriptionClosed b = c.next(Frame.SubscriptionClosed.class);
            assertThat(java.util.List.of(a.subscriptionId(), b.subscriptionId())).containsExactlyInAnyOrder(1, 2);
            assertThat(a.code()).isEqualTo(ErrorCode.NOT_FOUND.code());
            assertThat(b.code()).isEqualTo(ErrorCode.NOT_FOUND.code());
            assertThat(b.message()).isEqualTo("stream 'orders' was deleted");
            assertThat(c.handler.subscriptions()).isEmpty();
        }
    }
}
