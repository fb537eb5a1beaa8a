package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.security.AccessPolicy;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Principal;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Which handler carries out each frame type a client may send after the handshake, and the access
 * checks each one passes first. The table is the map of the broker's request handling: to change
 * what a frame does, open the handler named here.
 *
 * <p>Before a handler runs, every {@link AccessCheck} of its entry is put to the broker's
 * {@link AccessPolicy} with the connection's {@link Principal}; the first one denied is answered
 * with ERROR {@link ErrorCode#PERMISSION_DENIED} (the frame's request id; the connection stays
 * open) and the handler does not run. A frame type with no entry is answered with
 * {@link ErrorCode#UNKNOWN_FRAME_TYPE} and the connection closes.
 *
 * <p>Immutable and shared by all connections; handlers keep their state in the connection.
 */
final class DispatchTable {
    /** One frame type's handler and checks. */
    private record Entry<F extends Frame>(Class<F> frameClass, FrameHandler<F> handler, List<AccessCheck<F>> checks) {
        void dispatch(ConnectionHandler connection, Frame frame, AccessPolicy policy) {
            F f = frameClass.cast(frame);
            for (AccessCheck<F> check : checks) {
                String resource = check.resource().apply(f);
                Principal principal = connection.principal();
                if (!connection.security().allows(policy, principal, check.operation(), resource)) {
                    connection.security().denied(check.operation(), resource);
                    throw new BrokerException(ErrorCode.PERMISSION_DENIED,
                            AccessCheck.deniedMessage(check.operation(), resource, principal.name()));
                }
            }
            handler.handle(connection, f);
        }

        List<Operation> operations() {
            return checks.stream().map(AccessCheck::operation).toList();
        }
    }

    private static final DispatchTable STANDARD = standardBuilder().build();

    private final Map<FrameType, Entry<?>> entries;

    private DispatchTable(Map<FrameType, Entry<?>> entries) {
        this.entries = new EnumMap<>(entries);
    }

    /** The table of a broker: every frame a client may send and who handles it. */
    static DispatchTable standard() {
        return STANDARD;
    }

    /** A builder holding the standard entries, to replace or add entries (e.g. in a test). */
    static Builder standardBuilder() {
        return new Builder()
                // publishing: PublishHandler
                .on(FrameType.PUBLISH, Frame.Publish.class, PublishHandler::publish,
                        AccessCheck.of(Operation.PUBLISH, Frame.Publish::stream))
                .on(FrameType.PUBLISH_BATCH, Frame.PublishBatch.class, PublishHandler::publishBatch,
                        AccessCheck.of(Operation.PUBLISH, Frame.PublishBatch::stream))
                .on(FrameType.PUBLISH_IDEMPOTENT, Frame.PublishIdempotent.class, PublishHandler::publishIdempotent,
                        AccessCheck.of(Operation.PUBLISH, Frame.PublishIdempotent::stream))
                // reading: FetchHandler, SubscribeHandler
                .on(FrameType.FETCH, Frame.Fetch.class, FetchHandler::fetch,
                        AccessCheck.of(Operation.READ, Frame.Fetch::stream))
                .on(FrameType.SUBSCRIBE, Frame.Subscribe.class, SubscribeHandler::subscribe,
                        AccessCheck.of(Operation.READ, Frame.Subscribe::stream))
                .on(FrameType.CREDIT, Frame.Credit.class, SubscribeHandler::credit)
                .on(FrameType.UNSUBSCRIBE, Frame.Unsubscribe.class, SubscribeHandler::unsubscribe)
                // durable consumers: ConsumeHandler
                .on(FrameType.CONSUME, Frame.Consume.class, ConsumeHandler::consume,
                        AccessCheck.of(Operation.READ, Frame.Consume::stream),
                        AccessCheck.of(Operation.CONSUME, Frame.Consume::consumer))
                .on(FrameType.ACK, Frame.Ack.class, ConsumeHandler::ack)
                .on(FrameType.CONSUMERS, Frame.Consumers.class, ConsumeHandler::consumers,
                        AccessCheck.of(Operation.ADMIN, Frame.Consumers::stream))
                // request/response: RequestHandlers
                .on(FrameType.REQUEST, Frame.Request.class, RequestHandlers::request,
                        AccessCheck.of(Operation.REQUEST, Frame.Request::subject))
                .on(FrameType.RESPONSE, Frame.Response.class, RequestHandlers::response)
                .on(FrameType.ERROR, Frame.Error.class, RequestHandlers::error)
                .on(FrameType.RESPOND_ON, Frame.RespondOn.class, RequestHandlers::respondOn,
                        AccessCheck.of(Operation.RESPOND, Frame.RespondOn::subject))
                .on(FrameType.RESPOND_OFF, Frame.RespondOff.class, RequestHandlers::respondOff)
                // access control: ConnectionSecurity (AUTH replaces the connection's principal)
                .on(FrameType.AUTH, Frame.Auth.class, (c, f) -> c.security().authenticate(f))
                // admin: AdminHandlers (STREAMS lists only the streams the principal may administer)
                .on(FrameType.STREAMS, Frame.Streams.class, AdminHandlers::streams)
                .on(FrameType.DELETE_STREAM, Frame.DeleteStream.class, AdminHandlers::deleteStream,
                        AccessCheck.of(Operation.ADMIN, Frame.DeleteStream::stream))
                .on(FrameType.TRIM_STREAM, Frame.TrimStream.class, AdminHandlers::trimStream,
                        AccessCheck.of(Operation.ADMIN, Frame.TrimStream::stream))
                .on(FrameType.DELETE_CONSUMER, Frame.DeleteConsumer.class, AdminHandlers::deleteConsumer,
                        AccessCheck.of(Operation.ADMIN, Frame.DeleteConsumer::stream))
                // the connection itself: ControlHandlers
                .on(FrameType.PING, Frame.Ping.class, ControlHandlers::ping)
                .on(FrameType.PONG, Frame.class, ControlHandlers::ignore)
                .on(FrameType.OK, Frame.class, ControlHandlers::ignore)
                .on(FrameType.HELLO, Frame.class, ControlHandlers::helloAgain)
                .on(FrameType.WELCOME, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.GOAWAY, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.PUBLISH_ACK, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.SUBSCRIBED, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.DELIVER, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.SUBSCRIPTION_CLOSED, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.CONSUMER_LIST, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.FETCHED, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.AUTH_OK, Frame.class, ControlHandlers::brokerFrame)
                .on(FrameType.STREAM_LIST, Frame.class, ControlHandlers::brokerFrame);
    }

    /**
     * Event loop: checks the frame's permissions and runs its handler.
     *
     * @throws BrokerException when a check is denied or the handler refuses the frame
     */
    void dispatch(ConnectionHandler connection, Frame frame, AccessPolicy policy) {
        Entry<?> entry = entries.get(frame.type());
        if (entry == null) {
            connection.closeWithError(frame.requestId(), ErrorCode.UNKNOWN_FRAME_TYPE,
                    frame.type() + " frames are not handled by this broker");
            return;
        }
        entry.dispatch(connection, frame, policy);
    }

    /** The operations checked before a frame type is handled, in order (empty: none, or no entry). */
    List<Operation> checks(FrameType type) {
        Entry<?> entry = entries.get(type);
        return entry == null ? List.of() : entry.operations();
    }

    /** Whether a frame type has a handler. */
    boolean handles(FrameType type) {
        return entries.containsKey(type);
    }

    /** Builds a table; a later entry for a frame type replaces an earlier one. */
    static final class Builder {
        private final Map<FrameType, Entry<?>> entries = new EnumMap<>(FrameType.class);

        @SafeVarargs
        final <F extends Frame> Builder on(FrameType type, Class<F> frameClass, FrameHandler<F> handler,
                                           AccessCheck<F>... checks) {
            entries.put(type, new Entry<>(frameClass, handler, List.of(checks)));
            return this;
        }

        /** Removes a frame type's entry (it is then answered with UNKNOWN_FRAME_TYPE). */
        Builder remove(FrameType type) {
            entries.remove(type);
            return this;
        }

        DispatchTable build() {
            return new DispatchTable(entries);
        }
    }
}
