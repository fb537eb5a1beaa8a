package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.protocol.ProtocolException;
import dev.wirebus.protocol.RecordBatch;
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
        this.broker = broker;
        this.metrics = broker.metrics();
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
            dispatch(frame);
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
    private Frame.Error error(long requestId, ErrorCode code, String message) {
        metrics.error(code);
        return new Frame.Error(requestId, code, message);
    }

    /** The ERROR frame for a refused request, with its typed fields (sent on version 2 connections). */
    private Frame.Error error(long requestId, BrokerException e) {
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
        clientName = hello.clientName();
        channel.write(new Frame.Welcome(hello.requestId(), version,
                broker.config().maxFrameLength(), broker.storeId(), broker.config().serverName()));
        // WELCOME itself is the same in every version; what follows is in the negotiated one
        channel.attr(FrameCodec.VERSION).set(version);
    }

    private void dispatch(Frame frame) {
        switch (frame.type()) {
            case PUBLISH -> {
                Frame.Publish f = (Frame.Publish) frame;
                refuseWhenShuttingDown();
                checkMessageSize(f.stream(), f.payload().length);
                publish(f.requestId(), f.stream(), RecordBatch.of(f.payload()), f.expectedSequence(), null, 0);
            }
            case PUBLISH_BATCH -> {
                Frame.PublishBatch f = (Frame.PublishBatch) frame;
                refuseWhenShuttingDown();
                if (f.records().count() == 0) {
                    throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "PUBLISH_BATCH with no records");
                }
                checkMessageSize(f.stream(), f.records().maxPayloadLength());
                publish(f.requestId(), f.stream(), f.records(), f.expectedSequence(), null, 0);
            }
            case PUBLISH_IDEMPOTENT -> {
                Frame.PublishIdempotent f = (Frame.PublishIdempotent) frame;
                refuseWhenShuttingDown();
                if (f.records().count() == 0) {
                    throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "PUBLISH_IDEMPOTENT with no records");
                }
                StreamRegistry.checkName("producer id", f.producerId());
                if (f.producerSequence() < 1) {
                    throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "producer sequence must be at least 1, was "
                            + f.producerSequence());
                }
                checkMessageSize(f.stream(), f.records().maxPayloadLength());
                publish(f.requestId(), f.stream(), f.records(), f.expectedSequence(), f.producerId(),
                        f.producerSequence());
            }
            case FETCH -> fetch((Frame.Fetch) frame);
            case SUBSCRIBE -> subscribe((Frame.Subscribe) frame);
            case CONSUME -> consume((Frame.Consume) frame);
            case ACK -> {
                Frame.Ack f = (Frame.Ack) frame;
                SubscriptionCursor c = subscriptions.get(f.subscriptionId());
                if (c == null || c.consumer() == null) {
                    if (f.requestId() != 0) {
                        throw new BrokerException(ErrorCode.UNKNOWN_SUBSCRIPTION, "no open consumer subscription "
                                + f.subscriptionId() + " on this connection");
                    }
                    return;
                }
                c.stream().acknowledge(c.consumer(), f.sequence(),
                        f.requestId() == 0 ? () -> { } : () -> reply(new Frame.Ok(f.requestId()), false));
            }
            case CONSUMERS -> {
                Frame.Consumers f = (Frame.Consumers) frame;
                StreamRegistry.checkName("stream", f.stream());
                Stream s = broker.streams().get(f.stream());
                channel.write(s == null ? new Frame.ConsumerList(f.requestId(), 0, 0, 0, 0, java.util.List.of())
                        : s.consumerList(f.requestId()));
            }
            case CREDIT -> {
                Frame.Credit f = (Frame.Credit) frame;
                SubscriptionCursor c = subscriptions.get(f.subscriptionId());
                // a CREDIT may cross a SUBSCRIPTION_CLOSED or an UNSUBSCRIBE in flight: ignore it then
                if (c != null) {
                    c.grant(f.credits());
                }
            }
            case UNSUBSCRIBE -> {
                Frame.Unsubscribe f = (Frame.Unsubscribe) frame;
                SubscriptionCursor c = subscriptions.remove(f.subscriptionId());
                if (c == null) {
                    throw new BrokerException(ErrorCode.UNKNOWN_SUBSCRIPTION,
                            "no open subscription " + f.subscriptionId() + " on this connection");
                }
                c.close();
                channel.write(new Frame.Ok(f.requestId()));
            }
            case REQUEST -> {
                if (broker.shuttingDown()) {
                    metrics.request(BrokerMetrics.RequestOutcome.SHUTDOWN);
                }
                refuseWhenShuttingDown();
                broker.router().request(this, (Frame.Request) frame);
            }
            case RESPONSE -> broker.router().response(this, (Frame.Response) frame);
            case ERROR -> {
                Frame.Error f = (Frame.Error) frame;
                if (!broker.router().responderError(this, f)) {
                    log.debug("client '{}' sent ERROR {} for request {}: {}", clientName, f.code(), f.requestId(),
                            f.message());
                }
            }
            case RESPOND_ON -> {
                Frame.RespondOn f = (Frame.RespondOn) frame;
                broker.router().register(f.subject(), this);
                channel.write(new Frame.Ok(f.requestId()));
            }
            case RESPOND_OFF -> {
                Frame.RespondOff f = (Frame.RespondOff) frame;
                broker.router().unregister(f.subject(), this);
                channel.write(new Frame.Ok(f.requestId()));
            }
            case PING -> channel.write(new Frame.Pong(frame.requestId()));
            case PONG, OK -> { }
            case HELLO -> closeWithError(frame.requestId(), ErrorCode.HANDSHAKE_REQUIRED, "HELLO sent twice");
            case AUTH, STREAMS, DELETE_STREAM, TRIM_STREAM, DELETE_CONSUMER ->
                    closeWithError(frame.requestId(), ErrorCode.UNKNOWN_FRAME_TYPE,
                            frame.type() + " is not supported by this broker yet");
            case WELCOME, GOAWAY, PUBLISH_ACK, SUBSCRIBED, DELIVER, SUBSCRIPTION_CLOSED, CONSUMER_LIST, FETCHED,
                 AUTH_OK, STREAM_LIST ->
                    closeWithError(frame.requestId(), ErrorCode.MALFORMED_FRAME,
                            frame.type() + " frames are sent by brokers, not clients");
        }
    }

    /** Most records one FETCH answers with, and most record bytes (the first record is always sent). */
    static final int MAX_FETCH_MESSAGES = 10_000;
    static final int MAX_FETCH_BYTES = 4 << 20;

    private void fetch(Frame.Fetch f) {
        StreamRegistry.checkName("stream", f.stream());
        if (f.fromSequence() < 1) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "fetch from sequence must be at least 1, was "
                    + f.fromSequence());
        }
        Stream stream = broker.streams().get(f.stream());
        int max = Math.min(f.maxMessages(), MAX_FETCH_MESSAGES);
        // a FETCHED never exceeds the frame length the broker announced: header, fields, then records
        int maxBytes = Math.min(MAX_FETCH_BYTES, broker.config().maxFrameLength() - FrameCodec.HEADER_LENGTH - 8 - 8 - 4);
        java.util.List<StreamLog.Slice> slices = new java.util.ArrayList<>();
        // maxMessages 0 reads nothing (not even the retained range is checked): the stream's last sequence
        Stream.ReadStatus status = stream == null || max == 0 ? Stream.ReadStatus.WAITING
                : stream.read(f.fromSequence(), max, maxBytes, slices, null);
        if (status == Stream.ReadStatus.NOT_RETAINED) {
            throw stream.notRetained(f.fromSequence(), stream.firstSequence());
        }
        long last = stream == null ? 0 : stream.lastSequence();
        int count = 0;
        int bytes = 0;
        for (StreamLog.Slice s : slices) {
            count += s.count();
            bytes += s.bytes();
        }
        io.netty.buffer.ByteBuf buf = channel.alloc().buffer(64 + bytes);
        FrameCodec.writeFetchedHeader(buf, f.requestId(), last, f.fromSequence(), count, bytes);
        for (StreamLog.Slice s : slices) {
            s.batch().writeTo(buf, s.from(), s.to());
        }
        channel.write(buf);
    }

    private void publish(long requestId, String streamName, RecordBatch records, long expectedSequence,
                         String producerId, long producerSequence) {
        long startNanos = System.nanoTime();
        Stream stream;
        try {
            stream = broker.streams().getOrCreate(streamName);
        } catch (java.io.UncheckedIOException e) {
            throw new BrokerException(ErrorCode.INTERNAL, e.getMessage() + ": " + e.getCause().getMessage());
        }
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
        try {
            stream.append(records, expectedSequence, producerId, producerSequence, new Stream.AppendListener() {
                @Override
                public void appended(long first, int count, Throwable failure) {
                    if (failure == null) {
                        metrics.published(producerId != null, count);
                        replyToPublish(new Frame.PublishAck(requestId, first, count), startNanos);
                    } else {
                        replyToPublish(failure instanceof BrokerException b
                                ? error(requestId, b)
                                : error(requestId, ErrorCode.INTERNAL, "stream '" + streamName
                                        + "' could not store the messages durably: " + failure.getMessage()),
                                startNanos);
                    }
                }

                @Override
                public void duplicate(long first, int count) {
                    metrics.duplicate();
                    replyToPublish(new Frame.PublishAck(requestId, first, count, true), startNanos);
                }
            }, channel.eventLoop(), broker.config().publishWait().toMillis());
        } catch (BrokerException e) {
            ackSettled();
            throw e;
        } catch (RuntimeException e) {
            ackSettled();
            log.error("append to stream '{}' failed", streamName, e);
            throw new BrokerException(ErrorCode.INTERNAL, "stream '" + streamName + "' could not append: " + e.getMessage());
        }
    }

    /** Sends a frame from any thread; frames sent from other threads go out with one flush per batch. */
    private void reply(Frame frame, boolean settlesAck) {
        if (channel.eventLoop().inEventLoop()) {
            channel.write(frame);
            if (settlesAck) {
                ackSettled();
            }
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
    private void replyToPublish(Frame frame, long startNanos) {
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
    private void ackSettled() {
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

    private void subscribe(Frame.Subscribe f) {
        refuseWhenShuttingDown();
        if (subscriptions.containsKey(f.subscriptionId())) {
            throw new BrokerException(ErrorCode.DUPLICATE_SUBSCRIPTION,
                    "subscription id " + f.subscriptionId() + " is already open on this connection");
        }
        Stream stream = broker.streams().attach(f.stream()); // counts a subscriber; creates nothing
        try {
            long start = stream.resolveStart(f.startKind(), f.startSequence());
            open(f.requestId(), f.subscriptionId(), new SubscriptionCursor(channel, f.subscriptionId(), stream, start,
                    f.credits(), null, false, metrics, c -> subscriptions.remove(c.subscriptionId(), c),
                    broker.config().maxFrameLength()), start);
        } catch (RuntimeException e) {
            stream.subscriberClosed();
            throw e;
        }
    }

    private void consume(Frame.Consume f) {
        refuseWhenShuttingDown();
        if (subscriptions.containsKey(f.subscriptionId())) {
            throw new BrokerException(ErrorCode.DUPLICATE_SUBSCRIPTION,
                    "subscription id " + f.subscriptionId() + " is already open on this connection");
        }
        StreamRegistry.checkName("consumer", f.consumer());
        Stream stream = broker.streams().attach(f.stream()); // counts a subscriber; creates nothing
        try {
            long start = stream.attachConsumer(f.consumer(), f.startKind(), f.startSequence(),
                    f.resume() ? Math.max(1, f.startSequence()) : 0, f.maxLag());
            open(f.requestId(), f.subscriptionId(), new SubscriptionCursor(channel, f.subscriptionId(), stream, start,
                    f.credits(), f.consumer(), f.ackMode() == Frame.Consume.ACK_ON_DELIVERY, metrics,
                    c -> subscriptions.remove(c.subscriptionId(), c),
                    broker.config().maxFrameLength()), start);
        } catch (RuntimeException e) {
            stream.subscriberClosed();
            throw e;
        }
    }

    private void open(long requestId, int subscriptionId, SubscriptionCursor cursor, long start) {
        subscriptions.put(subscriptionId, cursor);
        Runnable begin = () -> {
            if (subscriptions.get(subscriptionId) == cursor && channel.isActive()) {
                channel.write(new Frame.Subscribed(requestId, subscriptionId, start));
                cursor.start();
            }
        };
        long delay = broker.config().subscribeSetupDelay().toMillis();
        if (delay > 0) {
            channel.eventLoop().schedule(() -> {
                begin.run();
                channel.flush();
            }, delay, TimeUnit.MILLISECONDS);
        } else {
            begin.run();
        }
    }

    private void refuseWhenShuttingDown() {
        if (broker.shuttingDown()) {
            throw new BrokerException(ErrorCode.SHUTTING_DOWN, "broker is shutting down");
        }
    }

    private void checkMessageSize(String stream, int size) {
        int max = broker.config().maxMessageBytes(stream);
        if (size > max) {
            throw new BrokerException(ErrorCode.MESSAGE_TOO_LARGE, "message of " + size
                    + " bytes exceeds the maximum " + max);
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

    private void closeWithError(long requestId, ErrorCode code, String message) {
        if (closing) {
            return;
        }
        closing = true;
        channel.writeAndFlush(error(requestId, code, message)).addListener(ChannelFutureListener.CLOSE);
    }
}
