package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.security.AccessPolicy;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Principal;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The access-control hook of the dispatch table: every checked frame asks the broker's policy first. */
class AccessControlDispatchTest {
    /** Who asked what, in order. */
    private final List<String> asked = new ArrayList<>();

    private AccessPolicy denying(Operation deniedOp, String deniedResource) {
        return (principal, op, resource) -> {
            asked.add(principal.name() + " " + op.word() + " " + resource);
            return !(op == deniedOp && resource.equals(deniedResource));
        };
    }

    @Test
    void aDeniedPublishIsAnsweredPermissionDeniedAndAppendsNothing() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.broker.accessPolicy(denying(Operation.PUBLISH, "payroll"));
            long id = c.id();
            c.send(new Frame.Publish(id, "payroll", Frame.NO_EXPECTED_SEQUENCE, "x".getBytes()));

            Frame.Error e = c.nextError(id, ErrorCode.PERMISSION_DENIED);
            assertThat(e.message()).isEqualTo("publish on 'payroll' is not permitted for 'anonymous'");
            assertThat(c.broker.streams().get("payroll")).as("stream created by a denied publish").isNull();
            assertThat(asked).containsExactly("anonymous publish payroll");
            // the connection stays open and serves what is allowed
            assertThat(c.channel.isActive()).isTrue();
            assertThat(c.publish("news", "y")).isEqualTo(1);
        }
    }

    @Test
    void theConnectionsPrincipalIsAskedAndNamedInTheDenial() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.broker.accessPolicy((p, op, resource) -> p.name().equals("alice"));
            c.handler.principal(new Principal("bob", "token"));
            long id = c.id();
            c.send(new Frame.RespondOn(id, "billing.quote"));
            assertThat(c.nextError(id, ErrorCode.PERMISSION_DENIED).message())
                    .isEqualTo("respond on 'billing.quote' is not permitted for 'bob'");

            c.handler.principal(new Principal("alice", "token"));
            long id2 = c.id();
            c.send(new Frame.RespondOn(id2, "billing.quote"));
            assertThat(c.next(Frame.Ok.class).requestId()).isEqualTo(id2);
        }
    }

    @Test
    void consumeChecksReadOnTheStreamThenConsumeOnTheConsumer() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.broker.accessPolicy(denying(Operation.CONSUME, "billing"));
            long id = c.id();
            c.send(new Frame.Consume(id, 7, "orders", "billing", Frame.StartKind.EARLIEST, 0, 10,
                    Frame.Consume.ACK_EXPLICIT, 0, false));
            assertThat(c.nextError(id, ErrorCode.PERMISSION_DENIED).message())
                    .isEqualTo("consume on 'billing' is not permitted for 'anonymous'");
            assertThat(asked).containsExactly("anonymous read orders", "anonymous consume billing");
            assertThat(c.handler.subscriptions()).isEmpty();
            assertThat(c.next()).isNull();
        }
    }

    @Test
    void aDeniedSubscribeOpensNoSubscription() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.broker.accessPolicy(denying(Operation.READ, "orders"));
            long id = c.id();
            c.send(new Frame.Subscribe(id, 3, "orders", Frame.StartKind.EARLIEST, 0, 10));
            assertThat(c.nextError(id, ErrorCode.PERMISSION_DENIED).message())
                    .isEqualTo("read on 'orders' is not permitted for 'anonymous'");
            assertThat(c.handler.subscriptions()).isEmpty();
        }
    }

    @Test
    void allowAllChangesNothing() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            assertThat(c.broker.accessPolicy()).isSameAs(AccessPolicy.ALLOW_ALL);
            assertThat(c.handler.principal()).isEqualTo(Principal.ANONYMOUS);
            assertThat(c.publish("orders", "a")).isEqualTo(1);
            long sub = c.id();
            c.send(new Frame.Consume(sub, 1, "orders", "billing", Frame.StartKind.EARLIEST, 0, 10,
                    Frame.Consume.ACK_EXPLICIT, 0, false));
            assertThat(c.next(Frame.Subscribed.class).requestId()).isEqualTo(sub);
            assertThat(c.next(Frame.Deliver.class).firstSequence()).isEqualTo(1);
            long list = c.id();
            c.send(new Frame.Consumers(list, "orders"));
            assertThat(c.next(Frame.ConsumerList.class).consumers()).hasSize(1);
            long respond = c.id();
            c.send(new Frame.RespondOn(respond, "quote"));
            assertThat(c.next(Frame.Ok.class).requestId()).isEqualTo(respond);
        }
    }

    @Test
    void theStandardTableChecksWhatTheSpecMaps() {
        DispatchTable t = DispatchTable.standard();
        Map<FrameType, List<Operation>> expected = Map.ofEntries(
                Map.entry(FrameType.PUBLISH, List.of(Operation.PUBLISH)),
                Map.entry(FrameType.PUBLISH_BATCH, List.of(Operation.PUBLISH)),
                Map.entry(FrameType.PUBLISH_IDEMPOTENT, List.of(Operation.PUBLISH)),
                Map.entry(FrameType.SUBSCRIBE, List.of(Operation.READ)),
                Map.entry(FrameType.FETCH, List.of(Operation.READ)),
                Map.entry(FrameType.CONSUME, List.of(Operation.READ, Operation.CONSUME)),
                Map.entry(FrameType.CONSUMERS, List.of(Operation.ADMIN)),
                Map.entry(FrameType.REQUEST, List.of(Operation.REQUEST)),
                Map.entry(FrameType.RESPOND_ON, List.of(Operation.RESPOND)),
                // STREAMS is not checked as a frame: it lists only the streams the principal may ADMIN
                Map.entry(FrameType.DELETE_STREAM, List.of(Operation.ADMIN)),
                Map.entry(FrameType.TRIM_STREAM, List.of(Operation.ADMIN)),
                Map.entry(FrameType.DELETE_CONSUMER, List.of(Operation.ADMIN)));
        for (FrameType type : FrameType.values()) {
            if (type == FrameType.HELLO || !t.handles(type)) {
                continue;
            }
            assertThat(t.checks(type)).as(type.name()).isEqualTo(expected.getOrDefault(type, List.of()));
        }
    }

    @Test
    void aFrameTypeWithoutAnEntryIsUnknownAndCloses() {
        try (EmbeddedConnection c = EmbeddedConnection.open(
                DispatchTable.standardBuilder().remove(FrameType.PING).build())) {
            c.send(new Frame.Ping(5));
            c.nextError(5, ErrorCode.UNKNOWN_FRAME_TYPE);
            assertThat(c.channel.isActive()).isFalse();
        }
    }
}
