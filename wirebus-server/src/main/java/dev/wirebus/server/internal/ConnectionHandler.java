package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.protocol.ProtocolException;
import dev.wirebus.security.Principal;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The broker's side of one client connection: the handshake, then each frame in arrival order.
 * Runs on the channel's event loop. Publishes are appended as they are read and acknowledged in the
 * same order; acknowledgements are flushed once per read burst. A protocol violation is answered
 * with an ERROR frame and closes this connection only.
 *
 * <p>This class keeps the connection's state (handshake, principal, subscriptions, publishes
 * awaiting their acknowledgement, replies from other threads); what each frame does is in the
 * handler {@link DispatchTable} names for it, after the access checks the table declares.
 */
public final class ConnectionHandler extends SimpleChannelInboundHandler<Frame> implements Connection {
    private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);

    private final BrokerContext broker;
    private final BrokerMetrics metrics;
    private final Map<Integer, SubscriptionCursor> subscriptions = new HashMap<>();
    private final Set<String> subjects = ConcurrentHashMap.newKeySet();
    private final Set<Long> pendingRequests = ConcurrentHashMap.newKeySet();
    private Channel channel;
    private volatile String clientName = "";
    /** Who the connection authenticated as; replaced by each successful AUTH. */
    private volatile Principal principal = Principal.ANONYMOUS;
    private final DispatchTable dispatch;
    /** Access control of this connection: principal from peer/certificate/AUTH, expiry, re-checks (issue 13). */
    private final ConnectionSecurity security;
    private boolean handshaken;
    private boolean closing;
    private ScheduledFuture<?> handshakeTimer;
    private static final int MAX_PENDING_ACKS = 16_384;
    /** Event loop: publishes appended whose acknowledgement has not gone out. */
    private int pendingAcks;
    /** Event loop: inside a read burst, whose end flushes what was written. */
    private boolean reading;
    /** Event loop: the client half-closed; close once the pending acknowledgements went out. */
    private boolean closeWhenSettled;
    private final java.util.concurrent.ConcurrentLinkedQueue<Object> replies = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicBoolean repliesScheduled = new java.util.concurrent.atomic.AtomicBoolean();

    public ConnectionHandler(BrokerContext broker) {
        this(broker, DispatchTable.standard());
    }

    /** A connection whose frames are carried out by the handlers of {@code dispatch}. */
    ConnectionHandler(BrokerContext broker, DispatchTable dispatch) {
        this.broker = broker;
        this.metrics = broker.metrics();
        this.dispatch = dispatch;
        this.security = new ConnectionSecurity(broker.security(), this);
    }

    /** Who is on this connection and what it may do. */
    public ConnectionSecurity security() {
        return security;
    }

    @Override
    public Principal principal() {
        return principal;
    }

    /** Sets who this connection acts for (after an AUTH; {@link Principal#ANONYMOUS} until then). */
    public void principal(Principal principal) {
        this.principal = java.util.Objects.requireNonNull(principal, "principal");
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public String clientName() {
        return clientName;
    }

    @Override
    public Set<String> subjects() {
        return subjects;
    }

    @Override
    public Set<Long> pendingRequests() {
        return pendingRequests;
    }

    /**
     * Event loop: whether this connection has nothing open that makes silence normal (no
     * subscription, no responder, no routed request, no publish awaiting its acknowledgement),
     * so that the idle timeout may close it.
     */
    public boolean idle() {
        return handshaken && !closing && subscriptions.isEmpty() && subjects.isEmpty() && pendingRequests.isEmpty()
                && pendingAcks == 0;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        security.attach(channel);
        broker.connections().add(this);
        metrics.connectionOpened();
        long timeout = broker.config().handshakeTimeout().toMillis();
        handshakeTimer = ctx.executor().schedule(() -> {
            if (!handshaken) {
                closeWithError(0, ErrorCode.HANDSHAKE_REQUIRED, "no HELLO within " + timeout + " ms");
            }
        }, timeout, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Frame frame) {
        reading = true;
        if (closing) {
            return;
        }
        if (!handshaken) {
            handshake(frame);
            return;
        }
        if (frame.requestId() == 0 && ANSWERED.contains(frame.type())) {
            closeWithError(0, ErrorCode.INVALID_ARGUMENT, frame.type()
                    + " with request id 0: a frame that is answered must carry a non-zero request id");
            return;
        }
        try {
            dispatch.dispatch(this, frame, broker.accessPolicy());
        } catch (BrokerException e) {
            ctx.write(error(frame.requestId(), e));
        } catch (java.io.UncheckedIOException | dev.wirebus.server.internal.storage.StorageException e) {
            // a stream that cannot be opened or read fails this request, not the connection
            log.error("storage failure on {} from '{}'", frame.type(), clientName, e);
            ctx.write(error(frame.requestId(), ErrorCode.INTERNAL, "storage failure: " + e.getMessage()));
        }
    }

    /**
     * Frames from a client that are answered, so must carry a non-zero request id (§4.2); HELLO is
     * checked in the handshake (a second one is HANDSHAKE_REQUIRED whatever its id).
     */
    private static final java.util.Set<dev.wirebus.protocol.FrameType> ANSWERED = java.util.EnumSet.of(
            dev.wirebus.protocol.FrameType.PING, dev.wirebus.protocol.FrameType.AUTH,
            dev.wirebus.protocol.FrameType.STREAMS, dev.wirebus.protocol.FrameType.DELETE_STREAM,
            dev.wirebus.protocol.FrameType.TRIM_STREAM, dev.wirebus.protocol.FrameType.DELETE_CONSUMER,
            dev.wirebus.protocol.FrameType.PUBLISH, dev.wirebus.protocol.FrameType.PUBLISH_BATCH,
            dev.wirebus.protocol.FrameType.PUBLISH_IDEMPOTENT, dev.wirebus.protocol.FrameType.SUBSCRIBE,
            dev.wirebus.protocol.FrameType.UNSUBSCRIBE, dev.wirebus.protocol.FrameType.CONSUME,
            dev.wirebus.protocol.FrameType.CONSUMERS, dev.wirebus.protocol.FrameType.FETCH,
            dev.wirebus.protocol.FrameType.REQUEST, dev.wirebus.protocol.FrameType.RESPOND_ON,
            dev.wirebus.protocol.FrameType.RESPOND_OFF);

    /** An ERROR frame to send, counted by its code. */
    Frame.Error error(long requestId, ErrorCode code, String message) {
        metrics.error(code);
        return new Frame.Error(requestId, code, message);
    }

    /** The ERROR frame for a refused request, with its typed fields (sent on version 2 connections). */
    Frame.Error error(long requestId, BrokerException e) {
        metrics.error(e.code());
        return new Frame.Error(requestId, e.code(), e.getMessage(), e.fields());
    }

    private void handshake(Frame frame) {
        if (!(frame instanceof Frame.Hello hello)) {
            closeWithError(frame.requestId(), ErrorCode.HANDSHAKE_REQUIRED,
                    "the first frame must be HELLO, got " + frame.type());
            return;
        }
        if (hello.requestId() == 0) {
            closeWithError(0, ErrorCode.INVALID_ARGUMENT,
                    "HELLO with request id 0: a frame that is answered must carry a non-zero request id");
            return;
        }
        // the highest version both speak
        int version = Math.min(hello.maxVersion(), FrameCodec.PROTOCOL_VERSION);
        if (version < hello.minVersion() || version < FrameCodec.MIN_PROTOCOL_VERSION) {
            closeWithError(frame.requestId(), ErrorCode.UNSUPPORTED_VERSION, "client speaks versions "
                    + hello.minVersion() + ".." + hello.maxVersion() + ", broker speaks "
                    + FrameCodec.MIN_PROTOCOL_VERSION + ".." + FrameCodec.PROTOCOL_VERSION);
            return;
        }
        handshaken = true;
        handshakeTimer.cancel(false);
        security.handshaken();
        clientName = hello.clientName();
        channel.write(new Frame.Welcome(hello.requestId(), version,
                broker.config().maxFrameLength(), broker.storeId(), broker.config().serverName()));
        // WELCOME itself is the same in every version; what follows is in the negotiated one
        channel.attr(FrameCodec.VERSION).set(version);
    }

    /** The broker's state shared by all connections. */
    BrokerContext broker() {
        return broker;
    }

    /** Event loop: this connection's open subscriptions by id. */
    Map<Integer, SubscriptionCursor> subscriptions() {
        return subscriptions;
    }

    /**
     * Event loop: a publish was taken on; its answer must settle it ({@link #replyToPublish}), or
     * {@link #ackSettled()} when it failed before reaching the stream. Stops reading this connection
     * while too many answers wait.
     */
    void publishStarted() {
        pendingAcks++;
        if (pendingAcks == MAX_PENDING_ACKS) {
            // acknowledgements wait for an fsync: stop reading this connection until they catch up
            ConnectionGuard guard = channel.pipeline().get(ConnectionGuard.class);
            if (guard != null) {
                guard.pauseReading(ConnectionGuard.PAUSE_ACKS);
            } else {
                channel.config().setAutoRead(false);
            }
        }
    }

    /** Sends a frame from any thread; frames sent from other threads go out with one flush per batch. */
    void reply(Frame frame) {
        if (channel.eventLoop().inEventLoop()) {
            channel.write(frame);
            if (!reading) {
                channel.flush(); // from a timer, not a read burst that flushes at its end
            }
            return;
        }
        enqueue(frame);
    }

    /**
     * Sends a publish's answer from any thread and settles its pending acknowledgement; an
     * acknowledgement is timed from {@code startNanos}, when its frame was read.
     */
    void replyToPublish(Frame frame, long startNanos) {
        if (channel.eventLoop().inEventLoop()) {
            writeSettling(frame, startNanos);
            if (!reading) {
                channel.flush(); // from a timer, not a read burst that flushes at its end
            }
            return;
        }
        enqueue(new SettlingReply(frame, startNanos));
    }

    /** Event loop: writes a publish's answer and settles its acknowledgement. */
    private void writeSettling(Frame frame, long startNanos) {
        channel.write(frame);
        if (frame instanceof Frame.PublishAck) {
            metrics.acknowledged(startNanos);
        }
        ackSettled();
    }

    private void enqueue(Object reply) {
        replies.add(reply);
        if (repliesScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(this::drainReplies);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // the broker's event loops are gone: the connection is closed, and so is the reply's way out
            }
        }
    }

    private record SettlingReply(Frame frame, long startNanos) {
    }

    private void drainReplies() {
        repliesScheduled.set(false);
        Object o;
        int n = 0;
        while ((o = replies.poll()) != null) {
            if (o instanceof SettlingReply r) {
                writeSettling(r.frame(), r.startNanos());
            } else {
                channel.write(o);
            }
            n++;
        }
        if (n > 0) {
            channel.flush();
        }
    }

    /** Event loop: one acknowledgement went out (or its publish failed). */
    void ackSettled() {
        pendingAcks--;
        if (closeWhenSettled && pendingAcks == 0) {
            channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        if (pendingAcks == MAX_PENDING_ACKS / 2) {
            ConnectionGuard guard = channel.pipeline().get(ConnectionGuard.class);
            if (guard != null) {
                guard.resumeReading(ConnectionGuard.PAUSE_ACKS);
            } else if (!channel.config().isAutoRead()) {
                channel.config().setAutoRead(true);
            }
        }
    }

    /** Refuses a request that would start something new while the broker shuts down. */
    void refuseWhenShuttingDown() {
        if (broker.shuttingDown()) {
            throw new BrokerException(ErrorCode.SHUTTING_DOWN, "broker is shutting down");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        reading = false;
        ctx.flush();
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (SubscriptionCursor c : subscriptions.values()) {
                c.schedule();
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent && !closing) {
            // the client closed its side: answer what it sent (acks may still wait for an fsync), then close ours
            closing = true;
            if (pendingAcks == 0) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            } else {
                closeWhenSettled = true;
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closing = true;
        if (handshakeTimer != null) {
            handshakeTimer.cancel(false);
        }
        security.close();
        for (SubscriptionCursor c : subscriptions.values()) {
            c.close();
        }
        subscriptions.clear();
        broker.router().connectionClosed(this);
        broker.connections().remove(this);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable t = cause instanceof DecoderException && cause.getCause() instanceof ProtocolException
                ? cause.getCause() : cause;
        if (t instanceof ProtocolException p) {
            log.debug("protocol violation by '{}' on {}: {}", clientName, channel, p.getMessage());
            closeWithError(p.requestId(), p.errorCode(), p.getMessage());
        } else if (t instanceof IOException) {
            log.debug("connection {} failed: {}", channel, t.toString());
            ctx.close();
        } else {
            log.warn("unexpected failure on connection {} of '{}'", channel, clientName, t);
            closeWithError(0, ErrorCode.INTERNAL, "internal error: " + t);
        }
    }

    /** Sends GOAWAY (graceful shutdown). */
    public void goAway(String message) {
        channel.eventLoop().execute(() -> channel.writeAndFlush(
                new Frame.GoAway(0, ErrorCode.SHUTTING_DOWN.code(), message)));
    }

    /**
     * Event loop: closes each subscription and responder registration for which {@code refusal}
     * gives a reason (access revoked by a reload or a new AUTH): SUBSCRIPTION_CLOSED or ERROR
     * (request id 0) with PERMISSION_DENIED and that reason.
     */
    void revokeWhere(java.util.function.BiFunction<dev.wirebus.security.Operation, String, String> refusal) {
        for (SubscriptionCursor c : java.util.List.copyOf(subscriptions.values())) {
            String why = refusal.apply(dev.wirebus.security.Operation.READ, c.stream().name());
            if (why == null && c.consumer() != null) {
                why = refusal.apply(dev.wirebus.security.Operation.CONSUME, c.consumer());
            }
            if (why != null) {
                subscriptions.remove(c.subscriptionId(), c);
                c.close();
                metrics.error(ErrorCode.PERMISSION_DENIED);
                channel.write(new Frame.SubscriptionClosed(0, c.subscriptionId(), ErrorCode.PERMISSION_DENIED.code(),
                        why));
            }
        }
        for (String subject : java.util.List.copyOf(subjects)) {
            String why = refusal.apply(dev.wirebus.security.Operation.RESPOND, subject);
            if (why != null) {
                broker.router().unregister(subject, this);
                channel.write(error(0, ErrorCode.PERMISSION_DENIED, why));
            }
        }
    }

    void closeWithError(long requestId, ErrorCode code, String message) {
        if (closing) {
            return;
        }
        closing = true;
        channel.writeAndFlush(error(requestId, code, message)).addListener(ChannelFutureListener.CLOSE);
    }
}
