package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SubscribeHandlerTest {
    @Test
    void aSubscriptionFromTheStartGetsSubscribedThenTheRecords() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.publish("orders", "a");
            c.publish("orders", "b");
            c.send(new Frame.Subscribe(10, 4, "orders", Frame.StartKind.EARLIEST, 0, 100));
            assertThat(c.next(Frame.Subscribed.class)).isEqualTo(new Frame.Subscribed(10, 4, 1));
            Frame.Deliver d = c.next(Frame.Deliver.class);
            assertThat(d.subscriptionId()).isEqualTo(4);
            assertThat(d.firstSequence()).isEqualTo(1);
            assertThat(d.records().count()).isEqualTo(2);
        }
    }

    @Test
    void aLiveSubscriptionSeesLaterPublishesOnlyWithinItsCredits() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Subscribe(10, 1, "orders", Frame.StartKind.LATEST, 0, 1));
            assertThat(c.next(Frame.Subscribed.class).startSequence()).isEqualTo(1);
            c.publish("orders", "a");
            assertThat(c.next(Frame.Deliver.class).records().count()).isEqualTo(1);
            c.publish("orders", "b");
            assertThat(c.next()).as("beyond the credits").isNull();
            c.send(new Frame.Credit(0, 1, 5));
            assertThat(c.next(Frame.Deliver.class).firstSequence()).isEqualTo(2);
        }
    }

    @Test
    void aSubscriptionIdAlreadyOpenIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Subscribe(10, 1, "orders", Frame.StartKind.LATEST, 0, 1));
            c.next(Frame.Subscribed.class);
            c.send(new Frame.Subscribe(11, 1, "other", Frame.StartKind.LATEST, 0, 1));
            c.nextError(11, ErrorCode.DUPLICATE_SUBSCRIPTION);
        }
    }

    @Test
    void unsubscribeClosesTheSubscriptionAndAnUnknownIdIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Subscribe(10, 1, "orders", Frame.StartKind.LATEST, 0, 10));
            c.next(Frame.Subscribed.class);
            c.send(new Frame.Unsubscribe(12, 1));
            assertThat(c.next(Frame.Ok.class).requestId()).isEqualTo(12);
            assertThat(c.handler.subscriptions()).isEmpty();
            c.publish("orders", "a");
            assertThat(c.next()).isNull();
            c.send(new Frame.Unsubscribe(13, 1));
            c.nextError(13, ErrorCode.UNKNOWN_SUBSCRIPTION);
        }
    }

    @Test
    void aStartBelowOneIsRefusedAndLeavesNoSubscriber() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.publish("orders", "a");
            c.send(new Frame.Subscribe(10, 1, "orders", Frame.StartKind.SEQUENCE, 0, 10));
            c.nextError(10, ErrorCode.INVALID_ARGUMENT);
            assertThat(c.broker.streams().get("orders").subscribers()).isZero();
        }
    }
}
