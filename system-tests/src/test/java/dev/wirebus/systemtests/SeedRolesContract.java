package dev.wirebus.systemtests;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.testing.EmbeddedBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertDenied;
import static dev.wirebus.systemtests.SecurityFixtures.assertError;
import static dev.wirebus.systemtests.SecurityFixtures.authenticate;
import static dev.wirebus.systemtests.SecurityFixtures.consume;
import static dev.wirebus.systemtests.SecurityFixtures.publish;
import static dev.wirebus.systemtests.SecurityFixtures.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed roles of the shipped example (examples/security/wirebus-roles.toml) on a real broker:
 * every operation each role may do succeeds and every one it may not is refused with
 * PERMISSION_DENIED, over the transport of the subclass. Principals come from AUTH with the
 * example's demo tokens.
 */
abstract class SeedRolesContract {
    static final String COMMITTER = "committer-demo-token";
    static final String OBSERVER = "observer-demo-token";
    static final String EXECUTOR = "executor-demo-token";
    static final String OPERATOR = "operator-demo-token";

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    EmbeddedBroker broker;

    abstract EmbeddedBroker.Transport transport();

    @BeforeEach
    void start() {
        broker = EmbeddedBroker.start(b -> b.security(SecurityFixtures.read(SecurityFixtures.SEED_ROLES))
                .meterRegistry(registry));
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    RawConnection as(String token, String principal) throws Exception {
        RawConnection c = RawConnection.handshaken(broker, transport(), 2);
        if (token != null) {
            authenticate(c, token, principal);
        }
        return c;
    }

    @Test
    void committerPublishesBlocksButMayNotReadThemNorPublishElsewhere() throws Exception {
        try (RawConnection c = as(COMMITTER, "committer")) {
            c.send(publish(1, "blocks"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            c.send(subscribe(2, 1, "blocks"));
            assertDenied(c.read(WAIT), 2, "read", "blocks");
            c.send(new Frame.Fetch(3, "blocks", 1, 10));
            assertDenied(c.read(WAIT), 3, "read", "blocks");
            c.send(publish(4, "other"));
            assertDenied(c.read(WAIT), 4, "publish", "other");
            c.send(new Frame.Request(5, "state.epoch", 1000, new byte[0]));
            assertDenied(c.read(WAIT), 5, "request", "state.epoch");
            c.send(new Frame.Consumers(6, "blocks"));
            assertDenied(c.read(WAIT), 6, "admin", "blocks");
        }
    }

    @Test
    void observerReadsBlocksButMayNotPublishThem() throws Exception {
        try (RawConnection committer = as(COMMITTER, "committer");
             RawConnection observer = as(OBSERVER, "observer")) {
            committer.send(publish(1, "blocks"));
            assertThat(committer.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            observer.send(new Frame.Fetch(1, "blocks", 1, 10));
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Fetched.class);
            observer.send(subscribe(2, 1, "blocks"));
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            assertThat(observer.read(WAIT)).isInstanceOf(Frame.Deliver.class);
            observer.send(publish(3, "blocks"));
            assertDenied(observer.read(WAIT), 3, "publish", "blocks");
        }
    }

    @Test
    void onlyTheCommitterMayRespondOnStateAndTheObserverAsksIt() throws Exception {
        try (RawConnection committer = as(COMMITTER, "committer");
             RawConnection observer = as(OBSERVER, "observer")) {
            // the observer cannot register as a responder: no hijack of state.epoch
            observer.send(new Frame.RespondOn(1, "state.epoch"));
            assertDenied(observer.read(WAIT), 1, "respond", "state.epoch");
            committer.send(new Frame.RespondOn(1, "state.epoch"));
            assertThat(committer.read(WAIT)).isInstanceOf(Frame.Ok.class);

            observer.send(new Frame.Request(2, "state.epoch", 5000, "?".getBytes(StandardCharsets.UTF_8)));
            Frame routed = committer.read(WAIT);
            assertThat(routed).isInstanceOf(Frame.Request.class);
            committer.send(new Frame.Response(routed.requestId(), "7".getBytes(StandardCharsets.UTF_8)));
            Frame answer = observer.read(WAIT);
            assertThat(answer).isInstanceOf(Frame.Response.class);
            assertThat(new String(((Frame.Response) answer).payload(), StandardCharsets.UTF_8)).isEqualTo("7");
        }
    }

    @Test
    void onlyTheExecutorMayAttachAsTheExecutorConsumer() throws Exception {
        try (RawConnection observer = as(OBSERVER, "observer");
             RawConnection executor = as(EXECUTOR, "executor")) {
            // the observer may read blocks, but not take over (move, ack, gate) the executor's consumer
            observer.send(consume(1, 1, "blocks", "executor"));
            assertDenied(observer.read(WAIT), 1, "consume", "executor");
            executor.send(consume(1, 1, "blocks", "executor"));
            assertThat(executor.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            executor.send(consume(2, 2, "blocks", "someone-else"));
            assertDenied(executor.read(WAIT), 2, "consume", "someone-else");
        }
    }

    @Test
    void anonymousMayDoNothingAndStaysConnected() throws Exception {
        try (RawConnection c = as(null, null)) {
            c.send(publish(1, "blocks"));
            assertDenied(c.read(WAIT), 1, "publish", "blocks");
            c.send(subscribe(2, 1, "blocks"));
            assertDenied(c.read(WAIT), 2, "read", "blocks");
            c.send(new Frame.RespondOn(3, "state.epoch"));
            assertDenied(c.read(WAIT), 3, "respond", "state.epoch");
            c.send(new Frame.Request(4, "state.epoch", 1000, new byte[0]));
            assertDenied(c.read(WAIT), 4, "request", "state.epoch");
            c.send(consume(5, 2, "blocks", "executor"));
            assertDenied(c.read(WAIT), 5, "read", "blocks");
            c.send(new Frame.Ping(6));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Pong.class);
        }
    }

    @Test
    void theOperatorListsConsumersOthersMayNot() throws Exception {
        try (RawConnection observer = as(OBSERVER, "observer");
             RawConnection operator = as(OPERATOR, "operator")) {
            observer.send(new Frame.Consumers(1, "blocks"));
            assertDenied(observer.read(WAIT), 1, "admin", "blocks");
            operator.send(new Frame.Consumers(1, "blocks"));
            assertThat(operator.read(WAIT)).isInstanceOf(Frame.ConsumerList.class);
            operator.send(publish(2, "blocks"));
            assertDenied(operator.read(WAIT), 2, "publish", "blocks");
        }
    }

    @Test
    void onlyTheOperatorListsStreamsAndAdminFramesNeedAdmin() throws Exception {
        try (RawConnection committer = as(COMMITTER, "committer");
             RawConnection observer = as(OBSERVER, "observer");
             RawConnection operator = as(OPERATOR, "operator")) {
            committer.send(publish(1, "blocks"));
            assertThat(committer.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            operator.send(new Frame.Streams(1, "", 10));
            Frame.StreamList list = (Frame.StreamList) operator.read(WAIT);
            assertThat(list.streams()).extracting(Frame.StreamInfo::name).containsExactly("blocks");
            assertThat(list.streams().get(0).lastSequence()).isEqualTo(1);
            assertThat(list.streams().get(0).bytes()).isPositive();
            assertThat(list.more()).isFalse();
            // the observer may administer no stream: it sees none, not even their names
            observer.send(new Frame.Streams(1, "", 10));
            assertThat(((Frame.StreamList) observer.read(WAIT)).streams()).isEmpty();
            observer.send(new Frame.DeleteStream(2, "blocks"));
            assertDenied(observer.read(WAIT), 2, "admin", "blocks");
            observer.send(new Frame.TrimStream(3, "blocks", 1));
            assertDenied(observer.read(WAIT), 3, "admin", "blocks");
            observer.send(new Frame.DeleteConsumer(4, "blocks", "executor"));
            assertDenied(observer.read(WAIT), 4, "admin", "blocks");
        }
    }

    @Test
    void theBrokersInternalCredentialMayDoEverything() throws Exception {
        try (RawConnection c = RawConnection.handshaken(broker, transport(), 2)) {
            c.send(new Frame.Auth(1, Frame.Auth.BEARER, broker.broker().internalCredential()));
            Frame ok = c.read(WAIT);
            assertThat(ok).isInstanceOf(Frame.AuthOk.class);
            assertThat(((Frame.AuthOk) ok).principal()).isEqualTo("wirebus-internal");
            c.send(publish(2, "anything.at.all"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            c.send(new Frame.RespondOn(3, "state.epoch"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Ok.class);
        }
    }

    @Test
    void anUnknownTokenFailsAuthenticationAndClosesTheConnection() throws Exception {
        try (RawConnection c = as(null, null)) {
            c.send(SecurityFixtures.auth(1, "committer-demo-token-guessed"));
            Frame f = c.read(WAIT);
            assertError(f, ErrorCode.AUTH_FAILED);
            assertThat(((Frame.Error) f).message()).doesNotContain("guessed");
            assertThat(c.closedByPeer(WAIT)).isTrue();
        }
    }

    @Test
    void denialsAreCountedPerPrincipalOperationAndReason() throws Exception {
        try (RawConnection c = as(OBSERVER, "observer")) {
            c.send(publish(1, "blocks"));
            assertDenied(c.read(WAIT), 1, "publish", "blocks");
            c.send(publish(2, "blocks"));
            assertDenied(c.read(WAIT), 2, "publish", "blocks");
        }
        assertThat(registry.get("wirebus.access.denied").tag("principal", "observer").tag("operation", "publish")
                .tag("reason", "permission").counter().count()).isEqualTo(2.0);
        assertThat(registry.get("wirebus.errors").tag("code", "PERMISSION_DENIED").counter().count()).isEqualTo(2.0);
    }
}
