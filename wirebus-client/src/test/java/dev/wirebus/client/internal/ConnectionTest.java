package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.ReconnectPolicy;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.testing.mockbroker.Action;
import dev.wirebus.testing.mockbroker.Held;
import dev.wirebus.testing.mockbroker.MockBroker;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static dev.wirebus.client.internal.TestClients.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The connection part: handshake, reconnect, loss mid-call, GOAWAY, failover over several addresses. */
class ConnectionTest {

    private static Action ack(long seq) {
        return Action.answer(f -> new Frame.PublishAck(f.requestId(), seq, 1, false));
    }

    @Test
    void theHandshakeOffersTheVersionsAndNamesTheClient() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.handshake(h -> new Frame.Welcome(h.requestId(), 2, 1 << 20, 5, "mock"));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                Frame.Hello hello = broker.takeFrame(Frame.Hello.class, WAIT);
                assertThat(hello.clientName()).isEqualTo("test-client");
                assertThat(hello.maxVersion()).isEqualTo(2);
                assertThat(c.state()).isEqualTo(ConnectionState.CONNECTED);
                assertThat(c.protocolVersion()).isEqualTo(2);
            }
        }
    }

    @Test
    void aHandshakeRefusedByTheBrokerFailsTheConnectWithItsError() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.handshake(h -> new Frame.Error(h.requestId(), ErrorCode.UNSUPPORTED_VERSION, "too new"));
            assertThatThrownBy(() -> TestClients.options(broker.address()).connect())
                    .hasMessageContaining("too new");
        }
    }

    @Test
    void noBrokerListeningFailsTheConnectSayingSo() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String address = "tcp://127.0.0.1:" + port;
        assertThatThrownBy(() -> TestClients.options(address).connect()).isInstanceOf(ConnectionException.class)
                .hasMessageContaining("connection refused at " + address);
    }

    @Test
    void aConnectionLostMidCallFailsTheCallAndTheClientReconnects() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            TestClients.Recorder events = new TestClients.Recorder();
            broker.enqueue(FrameType.PUBLISH, Action.closeConnection());
            broker.enqueue(FrameType.PUBLISH, ack(2));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).listener(events).connect()) {
                CompletableFuture<PublishAck> lost = c.publish("s", new byte[] {1});
                assertThatThrownBy(() -> lost.get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
                        .cause().isInstanceOf(ConnectionException.class).hasMessageContaining("outcome is unknown");
                await().atMost(WAIT).until(() -> c.state() == ConnectionState.CONNECTED && broker.handshakeCount() == 2);
                assertThat(c.publish("s", new byte[] {2}).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(2);
                assertThat(events.states).containsSubsequence(ConnectionState.CONNECTED, ConnectionState.RECONNECTING,
                        ConnectionState.CONNECTED);
            }
        }
    }

    @Test
    void anIdempotentPublishInFlightIsSentAgainAfterTheReconnect() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.PUBLISH_IDEMPOTENT, Action.closeConnection());
            broker.enqueue(FrameType.PUBLISH_IDEMPOTENT, Action.answer(f -> new Frame.PublishAck(f.requestId(), 9, 1, true)));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                PublishAck ack = c.publish("s", new byte[] {1}, PublishOptions.builder().producer("p", 1).build()).get(10, TimeUnit.SECONDS);
                assertThat(ack.firstSequence()).isEqualTo(9);
                assertThat(ack.duplicate()).isTrue();
                Frame.PublishIdempotent first = broker.takeFrame(Frame.PublishIdempotent.class, WAIT);
                Frame.PublishIdempotent again = broker.takeFrame(Frame.PublishIdempotent.class, WAIT);
                assertThat(again.producerId()).isEqualTo("p");
                assertThat(again.producerSequence()).isEqualTo(first.producerSequence());
            }
        }
    }

    @Test
    void aGoAwayIsReportedAndTheClientComesBack() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            TestClients.Recorder events = new TestClients.Recorder();
            broker.enqueue(FrameType.PING, Action.goAway("restarting"));
            broker.answerAlways(FrameType.PING, Action.answer(f -> new Frame.Pong(f.requestId())));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).listener(events).connect()) {
                CompletableFuture<Duration> first = c.ping();
                assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(ConnectionException.class);
                assertThat(events.errors).anySatisfy(e -> assertThat(e).isInstanceOf(ConnectionException.class)
                        .hasMessageContaining("going away: restarting"));
                await().atMost(WAIT).until(() -> broker.handshakeCount() == 2);
                assertThat(c.ping().get(10, TimeUnit.SECONDS)).isNotNull();
            }
        }
    }

    @Test
    void withReconnectNeverALostConnectionClosesTheClient() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            try (DefaultWirebusClient c = TestClients.options(broker.address()).reconnect(ReconnectPolicy.never())
                    .connect()) {
                broker.dropConnections();
                await().atMost(WAIT).until(() -> c.state() == ConnectionState.CLOSED);
                assertThatThrownBy(() -> c.publish("s", new byte[1]).get(10, TimeUnit.SECONDS)).cause()
                        .isInstanceOf(ConnectionException.class).hasMessageContaining("closed");
            }
        }
    }

    @Test
    void reconnectGivesUpAfterTheAttemptsOfThePolicy() throws Exception {
        MockBroker broker = MockBroker.start();
        TestClients.Recorder events = new TestClients.Recorder();
        try (DefaultWirebusClient c = TestClients.options(broker.address()).listener(events)
                .reconnect(ReconnectPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(2)).withMaxAttempts(3))
                .connect()) {
            broker.close();
            await().atMost(WAIT).until(() -> c.state() == ConnectionState.CLOSED);
            assertThat(events.errors).anySatisfy(e -> assertThat(e).hasMessageContaining("gave up reconnecting")
                    .hasMessageContaining("after 3 attempts"));
        }
    }

    @Test
    void theFirstConnectTriesEveryAddressInTurn() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0)) {
            dead = s.getLocalPort();
        }
        try (MockBroker broker = MockBroker.start();
             WirebusClient c = WirebusClient.builder().addresses("tcp://127.0.0.1:" + dead, broker.address())
                     .connect()) {
            assertThat(c.address()).isEqualTo(broker.address());
        }
    }

    @Test
    void whenTheFirstBrokerDiesTheClientFailsOverToTheNextAndResendsIdempotentPublishes() throws Exception {
        MockBroker a = MockBroker.start();
        try (MockBroker b = MockBroker.start()) {
            Held inFlight = a.enqueueHeld(FrameType.PUBLISH_IDEMPOTENT);
            b.enqueue(FrameType.PUBLISH_IDEMPOTENT, Action.answer(f -> new Frame.PublishAck(f.requestId(), 1, 1, false)));
            try (DefaultWirebusClient c = TestClients.options(a.address() + "," + b.address()).connect()) {
                assertThat(c.address()).isEqualTo(a.address());
                CompletableFuture<PublishAck> ack = c.publish("s", new byte[] {1},
                        PublishOptions.builder().producer("p", 7).build());
                inFlight.frame(WAIT);
                a.close(); // the node dies with the publish unanswered
                assertThat(ack.get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1);
                assertThat(c.address()).isEqualTo(b.address());
                assertThat(b.takeFrame(Frame.PublishIdempotent.class, WAIT).producerSequence()).isEqualTo(7);
            }
        }
    }

    @Test
    void anErrorWithoutRequestIdGoesToTheListener() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            TestClients.Recorder events = new TestClients.Recorder();
            try (DefaultWirebusClient c = TestClients.options(broker.address()).listener(events).connect()) {
                broker.send(new Frame.Error(0, ErrorCode.INTERNAL, "disk on fire"));
                await().atMost(WAIT).until(() -> !events.errors.isEmpty());
                assertThat(events.errors.get(0)).isInstanceOf(ServerRefusedException.class)
                        .hasMessageContaining("disk on fire");
            }
        }
    }
}
