package dev.wirebus.client.internal;

import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.testing.mockbroker.Action;
import dev.wirebus.testing.mockbroker.Held;
import dev.wirebus.testing.mockbroker.MockBroker;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static dev.wirebus.client.internal.TestClients.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Calls end to end through the client against a scripted broker: order, silence, the window. */
class ClientCallsTest {

    @Test
    void answersOutOfOrderReachTheirOwnCallers() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            Held first = broker.enqueueHeld(FrameType.PUBLISH);
            broker.enqueue(FrameType.PUBLISH, Action.answer(f -> new Frame.PublishAck(f.requestId(), 2, 1, false)));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                CompletableFuture<PublishAck> one = c.publish("s", new byte[] {1});
                CompletableFuture<PublishAck> two = c.publish("s", new byte[] {2});
                assertThat(two.get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(2);
                assertThat(one).isNotDone();
                first.release(f -> new Frame.PublishAck(f.requestId(), 1, 1, false), WAIT);
                assertThat(one.get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1);
            }
        }
    }

    @Test
    void aBrokerThatNeverAnswersFailsTheCallWhenTheInjectedClockPassesItsDeadline() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            TestClients.ManualClock clock = new TestClients.ManualClock();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).clock(clock)
                    .requestTimeout(Duration.ofSeconds(30)).connect()) {
                CompletableFuture<PublishAck> silent = c.publish("s", new byte[] {1});
                broker.takeFrame(Frame.Publish.class, WAIT);
                assertThat(silent).isNotDone();
                clock.advance(Duration.ofSeconds(30));
                await().atMost(WAIT).until(silent::isDone);
                assertThatThrownBy(() -> silent.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(WirebusTimeoutException.class)
                        .hasMessageContaining("no answer to PUBLISH on stream 's'");
            }
        }
    }

    @Test
    void aRequestWithItsOwnTimeoutFailsAtThatDeadline() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            TestClients.ManualClock clock = new TestClients.ManualClock();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).clock(clock).connect()) {
                CompletableFuture<byte[]> r = c.request("state.epoch", new byte[0], Duration.ofMillis(200));
                Frame.Request sent = broker.takeFrame(Frame.Request.class, WAIT);
                assertThat(sent.timeoutMillis()).isEqualTo(200);
                clock.advance(Duration.ofMillis(400)); // the client waits a little past the broker's deadline
                await().atMost(WAIT).until(r::isDone);
                assertThatThrownBy(() -> r.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(WirebusTimeoutException.class);
            }
        }
    }

    @Test
    void aCallBeyondTheInFlightWindowFailsAtOnceWithoutBlockingItsCaller() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            try (DefaultWirebusClient c = TestClients.options(broker.address()).maxInFlight(2).connect()) {
                CompletableFuture<PublishAck> a = c.publish("s", new byte[] {1});
                CompletableFuture<PublishAck> b = c.publish("s", new byte[] {2});
                CompletableFuture<PublishAck> refused = c.publish("s", new byte[] {3});
                assertThat(refused).isCompletedExceptionally();
                assertThatThrownBy(() -> refused.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(BackpressureException.class)
                        .hasMessageContaining("2 calls already await answers");
                Frame.Publish p = broker.takeFrame(Frame.Publish.class, WAIT);
                broker.send(new Frame.PublishAck(p.requestId(), 1, 1, false));
                a.get(10, TimeUnit.SECONDS);
                assertThat(c.publish("s", new byte[] {4})).isNotCompletedExceptionally();
                assertThat(b).isNotDone();
            }
        }
    }

    @Test
    void aRequestAndPingAreMatchedByTheirIds() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.REQUEST, Action.answer(f -> new Frame.Response(f.requestId(), new byte[] {42})));
            broker.answerAlways(FrameType.PING, Action.answer(f -> new Frame.Pong(f.requestId())));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                assertThat(c.request("x", new byte[0], Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS)).containsExactly(42);
                assertThat(c.ping().get(10, TimeUnit.SECONDS).isNegative()).isFalse();
            }
        }
    }
}
