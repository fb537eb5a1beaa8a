package dev.wirebus.client.internal;

import dev.wirebus.client.Responder;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.testing.mockbroker.Action;
import dev.wirebus.testing.mockbroker.MockBroker;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import java.nio.charset.StandardCharsets;

import static dev.wirebus.client.internal.TestClients.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The responders part: register, answer requests, refuse what is not ours, re-register after a reconnect. */
class RespondersTest {

    @Test
    void aRequestIsAnsweredByTheHandlerWithTheSameRequestId() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.RESPOND_ON, Action.ok());
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                Responder r = c.respond("state.epoch", req -> ("epoch of " + req.payloadAsString())
                        .getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
                assertThat(r.subject()).isEqualTo("state.epoch");
                broker.takeFrame(Frame.RespondOn.class, WAIT);
                broker.send(new Frame.Request(77, "state.epoch", 1000, "x".getBytes(StandardCharsets.UTF_8)));
                Frame.Response answer = broker.takeFrame(Frame.Response.class, WAIT);
                assertThat(answer.requestId()).isEqualTo(77);
                assertThat(new String(answer.payload(), StandardCharsets.UTF_8)).isEqualTo("epoch of x");
            }
        }
    }

    @Test
    void aHandlerThatThrowsAnswersResponderFailed() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.RESPOND_ON, Action.ok());
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                c.respond("s", req -> {
                    throw new IllegalStateException("no epoch yet");
                }).get(10, TimeUnit.SECONDS);
                broker.takeFrame(Frame.RespondOn.class, WAIT);
                broker.send(new Frame.Request(5, "s", 1000, new byte[0]));
                Frame.Error e = broker.takeFrame(Frame.Error.class, WAIT);
                assertThat(e.code()).isEqualTo(ErrorCode.RESPONDER_FAILED.code());
                assertThat(e.message()).contains("no epoch yet");
            }
        }
    }

    @Test
    void everySubjectIsRegisteredAgainAfterAReconnect() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.RESPOND_ON, Action.ok());
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                c.respond("a", req -> new byte[0]).get(10, TimeUnit.SECONDS);
                c.respond("b", req -> new byte[0]).get(10, TimeUnit.SECONDS);
                broker.takeFrame(Frame.RespondOn.class, WAIT);
                broker.takeFrame(Frame.RespondOn.class, WAIT);
                broker.dropConnections();
                java.util.Set<String> again = new java.util.HashSet<>();
                again.add(broker.takeFrame(Frame.RespondOn.class, WAIT).subject());
                again.add(broker.takeFrame(Frame.RespondOn.class, WAIT).subject());
                assertThat(again).containsExactlyInAnyOrder("a", "b");
            }
        }
    }

    @Test
    void aRefusedRegistrationIsForgottenSoItCanBeTriedAgain() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.RESPOND_ON, Action.error(ErrorCode.PERMISSION_DENIED, "RESPOND on 's' is not permitted"));
            broker.enqueue(FrameType.RESPOND_ON, Action.ok());
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                assertThatThrownBy(() -> c.respond("s", req -> new byte[0]).get(10, TimeUnit.SECONDS)).hasMessageContaining("not permitted");
                assertThat(c.respond("s", req -> new byte[0]).get(10, TimeUnit.SECONDS).subject()).isEqualTo("s");
            }
        }
    }

    @Test
    void aRequestForASubjectNotRespondedOnIsRefusedOnTheChannelItCameOn() throws Exception {
        // the Responders part alone, on an EmbeddedChannel: no broker, no socket
        try (MockBroker unused = MockBroker.start();
             DefaultWirebusClient c = TestClients.options(unused.address()).connect()) {
            EmbeddedChannel ch = new EmbeddedChannel();
            c.responders().onRequest(ch, new Frame.Request(9, "nobody.here", 1000, new byte[0]));
            Frame.Error e = ch.readOutbound();
            assertThat(e.requestId()).isEqualTo(9);
            assertThat(e.code()).isEqualTo(ErrorCode.RESPONDER_FAILED.code());
            assertThat(e.message()).contains("no longer responds on subject 'nobody.here'");
            ch.finishAndReleaseAll();
        }
    }
}
