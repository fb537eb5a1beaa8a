package dev.wirebus.client.internal;

import dev.wirebus.client.AuthenticationException;
import dev.wirebus.client.PermissionDeniedException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StreamPage;
import dev.wirebus.client.Subscription;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.testing.mockbroker.Action;
import dev.wirebus.testing.mockbroker.MockBroker;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.wirebus.client.internal.TestClients.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Credentials (AUTH after every handshake), typed refusals, and the admin calls, against a scripted broker. */
class AuthAndAdminTest {

    private static Action authOk(String principal) {
        return Action.answer(f -> new Frame.AuthOk(f.requestId(), principal, 0));
    }

    @Test
    void theTokenGoesInAuthRightAfterWelcomeAndTheClientWaitsForAuthOk() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.AUTH, authOk("committer"));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).token("s3cret").connect()) {
                Frame.Auth auth = broker.takeFrame(Frame.Auth.class, WAIT);
                assertThat(auth.mechanism()).isEqualTo("bearer");
                assertThat(new String(auth.credential(), StandardCharsets.UTF_8)).isEqualTo("s3cret");
                assertThat(c.principal()).isEqualTo("committer");
            }
        }
    }

    @Test
    void aRefusedCredentialFailsTheConnectWithATypedException() {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.AUTH, Action.error(ErrorCode.AUTH_FAILED, "unknown token").then(
                    (f, peer) -> peer.close()));
            assertThatThrownBy(() -> TestClients.options(broker.address()).token("wrong").connect())
                    .isInstanceOf(AuthenticationException.class).hasMessageContaining("unknown token")
                    .extracting(e -> ((AuthenticationException) e).errorCode()).isEqualTo(ErrorCode.AUTH_FAILED);
        }
    }

    @Test
    void afterAReconnectAFreshCredentialIsSentBeforeTheSubscriptionsResume() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.answerAlways(FrameType.AUTH, authOk("reader"));
            broker.answerAlways(FrameType.SUBSCRIBE, Action.answer(f -> new Frame.Subscribed(f.requestId(),
                    ((Frame.Subscribe) f).subscriptionId(), 1)));
            AtomicInteger minted = new AtomicInteger();
            try (DefaultWirebusClient c = TestClients.options(broker.address())
                    .credentials(() -> "jwt-" + minted.incrementAndGet()).connect()) {
                Subscription sub = c.subscribe("chat.session-1", StartPosition.earliest(), m -> { });
                sub.started().get(10, TimeUnit.SECONDS);
                assertThat(broker.takeFrame(Frame.Auth.class, WAIT).credential()).asString().isEqualTo("jwt-1");
                broker.takeFrame(Frame.Subscribe.class, WAIT);
                broker.dropConnections();
                Frame.Auth again = broker.takeFrame(Frame.Auth.class, WAIT);
                assertThat(new String(again.credential(), StandardCharsets.UTF_8)).isEqualTo("jwt-2");
                assertThat(broker.takeFrame(WAIT)).as("the first frame after AUTH_OK").isInstanceOf(Frame.Subscribe.class);
            }
        }
    }

    @Test
    void authenticateSendsTheNewTokenOnTheOpenConnectionAndKeepsItForReconnects() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.AUTH, authOk("reader"));
            broker.enqueue(FrameType.AUTH, Action.answer(f -> new Frame.AuthOk(f.requestId(), "writer", 0)));
            broker.answerAlways(FrameType.AUTH, authOk("writer"));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).token("reader-token").connect()) {
                assertThat(broker.takeFrame(Frame.Auth.class, WAIT).credential()).asString().isEqualTo("reader-token");
                dev.wirebus.client.Authentication a = c.authenticate("writer-token").get(10, TimeUnit.SECONDS);
                assertThat(a.principal()).isEqualTo("writer");
                assertThat(c.principal()).isEqualTo("writer");
                assertThat(broker.takeFrame(Frame.Auth.class, WAIT).credential()).asString().isEqualTo("writer-token");
                broker.dropConnections();
                assertThat(broker.takeFrame(Frame.Auth.class, WAIT).credential()).as("the reconnect's AUTH")
                        .asString().isEqualTo("writer-token");
            }
        }
    }

    @Test
    void permissionDeniedIsATypedRefusalAndTheConnectionStays() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.PUBLISH, Action.error(ErrorCode.PERMISSION_DENIED,
                    "PUBLISH on 'blocks' is not permitted for 'observer'"));
            broker.answerAlways(FrameType.PING, Action.answer(f -> new Frame.Pong(f.requestId())));
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                assertThatThrownBy(() -> c.publish("blocks", new byte[1]).get(10, TimeUnit.SECONDS)).cause()
                        .isInstanceOf(PermissionDeniedException.class)
                        .hasMessageContaining("PUBLISH on 'blocks' is not permitted")
                        .isInstanceOf(ServerRefusedException.class);
                c.ping().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void adminCallsSendTheirFramesAndReadTheAnswers() throws Exception {
        try (MockBroker broker = MockBroker.start()) {
            broker.enqueue(FrameType.STREAMS, Action.answer(f -> new Frame.StreamList(f.requestId(),
                    List.of(new Frame.StreamInfo("blocks", 1, 70, 7000, 1)), true)));
            broker.enqueue(FrameType.DELETE_STREAM, Action.error(ErrorCode.NOT_FOUND, "no stream 'gone'"));
            broker.enqueue(FrameType.TRIM_STREAM, Action.ok());
            broker.enqueue(FrameType.DELETE_CONSUMER, Action.ok());
            try (DefaultWirebusClient c = TestClients.options(broker.address()).connect()) {
                StreamPage page = c.streams("", 100).get(10, TimeUnit.SECONDS);
                assertThat(page.streams()).singleElement().satisfies(s -> {
                    assertThat(s.name()).isEqualTo("blocks");
                    assertThat(s.lastSequence()).isEqualTo(70);
                    assertThat(s.consumers()).isEqualTo(1);
                });
                assertThat(page.more()).isTrue();
                assertThat(page.lastName()).isEqualTo("blocks");
                Frame.Streams asked = broker.takeFrame(Frame.Streams.class, WAIT);
                assertThat(asked.after()).isEmpty();
                assertThat(asked.max()).isEqualTo(100);

                assertThatThrownBy(() -> c.deleteStream("gone").get(10, TimeUnit.SECONDS)).cause()
                        .isInstanceOfSatisfying(ServerRefusedException.class,
                                e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.NOT_FOUND));
                assertThat(broker.takeFrame(Frame.DeleteStream.class, WAIT).stream()).isEqualTo("gone");

                c.trimStream("blocks", 50).get(10, TimeUnit.SECONDS);
                Frame.TrimStream trim = broker.takeFrame(Frame.TrimStream.class, WAIT);
                assertThat(trim.beforeSequence()).isEqualTo(50);

                c.deleteConsumer("blocks", "executor").get(10, TimeUnit.SECONDS);
                assertThat(broker.takeFrame(Frame.DeleteConsumer.class, WAIT).consumer()).isEqualTo("executor");
                assertThatThrownBy(() -> c.streams("", 1001)).isInstanceOf(IllegalArgumentException.class);
            }
        }
    }
}
