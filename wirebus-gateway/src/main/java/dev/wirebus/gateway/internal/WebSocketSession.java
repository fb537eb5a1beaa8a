package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.protocol.ErrorCode;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Function;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One WebSocket connection speaking the gateway's JSON protocol (docs/gateway.md): subscribe,
 * unsubscribe, publish, request and ping, each answered by a typed frame or a typed error frame
 * that leaves the connection open. Every client message takes a token of its IP's rate limit;
 * publish and request take an in-flight slot. All frames to the client go through one
 * {@link SubscriberOutbox}; when it overflows, each subscription gets a {@code SLOW_CONSUMER} error
 * with the sequence to resume from and the connection is closed with code 4008.
 *
 * <p>Subscription state is confined to the event loop; message handlers run on the client's
 * dispatch threads and only touch the outbox and their subscription's volatile fields.
 */
final class WebSocketSession extends ChannelInboundHandlerAdapter {
    /** Close code after SLOW_CONSUMER. */
    static final int SLOW_CONSUMER_CLOSE = 4008;
    /** Close code after AUTH_EXPIRED (4000 + HTTP 401). */
    static final int AUTH_EXPIRED_CLOSE = 4401;
    private static final JsonStringEncoder QUOTER = JsonStringEncoder.getInstance();
    private static final byte[] STREAM_FIELD = "\"stream\":\"".getBytes(StandardCharsets.US_ASCII);

    /** One subscription of this connection. */
    private static final class WsSubscription {
        final String stream;
        final Payloads encoding;
        final SubscriberOutbox.Cursor cursor;
        final String id;
        final StartPosition start;
        volatile Subscription subscription;
        volatile boolean announced;
        volatile boolean ended;

        /** The start of each message frame's JSON, up to the part all subscribers share: {@code {"type":"message","id":"…",}. */
        final byte[] messagePrefix;
        /** Makes the part of a message frame all subscribers of the stream share. */
        final Function<Message, ByteBuf> rest;

        WsSubscription(String stream, Payloads encoding, String id, StartPosition start) {
            this.stream = stream;
            this.encoding = encoding;
            this.id = id;
            this.start = start;
            this.cursor = new SubscriberOutbox.Cursor(stream, 0);
            this.messagePrefix = (id == null ? "{\"type\":\"message\","
                    : "{\"type\":\"message\",\"id\":\"" + new String(QUOTER.quoteAsString(id)) + "\",")
                    .getBytes(StandardCharsets.UTF_8);
            this.rest = m -> messageRest(ByteBufAllocator.DEFAULT, stream, encoding, m);
        }
    }

    private final GatewayContext gateway;
    private final WebSocketServerHandshaker handshaker;
    private final Channel channel;
    private final InetAddress clientAddress;
    private final SubscriberOutbox outbox;
    private final Map<String, WsSubscription> subscriptions = new HashMap<>();
    private ScheduledFuture<?> keepalive;
    /** Who this connection is; replaced by an {@code auth} message. Event loop only. */
    private dev.wirebus.security.Authentication auth;
    /** Closes the connection when {@link #auth} expires without a fresh one. Event loop only. */
    private ScheduledFuture<?> expiry;

    WebSocketSession(GatewayContext gateway, WebSocketServerHandshaker handshaker, Channel channel,
                     InetAddress clientAddress, dev.wirebus.security.Authentication auth) {
        this.auth = auth;
        this.gateway = gateway;
        this.handshaker = handshaker;
        this.channel = channel;
        this.clientAddress = clientAddress;
        this.outbox = new SubscriberOutbox(channel, gateway.drains(channel.eventLoop()),
                gateway.limits().subscriberBufferBytes(), gateway.metrics(), true, this::overflowed);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        // the handshake put the frame encoder in: the outbox's frames are encoded already
        outbox.start(ctx.pipeline().context(WebSocketFrameEncoder.class));
        long every = gateway.limits().keepAliveInterval().toNanos();
        keepalive = ctx.executor().scheduleAtFixedRate(() -> {
            if (channel.isWritable()) {
                channel.writeAndFlush(new PingWebSocketFrame(), channel.voidPromise());
            }
            recheck();
        }, every, every, TimeUnit.NANOSECONDS);
        scheduleExpiry();
    }

    /** Ends the connection when the credential expires, unless an {@code auth} message brings a fresh one first. */
    private void scheduleExpiry() {
        if (expiry != null) {
            expiry.cancel(false);
            expiry = null;
        }
        if (auth.expiresAtMillis() == 0) {
            return;
        }
        long delay = Math.max(0, auth.expiresAtMillis() - System.currentTimeMillis());
        dev.wirebus.security.Authentication expiring = auth;
        expiry = channel.eventLoop().schedule(() -> {
            if (auth == expiring && channel.isActive()) {
                gateway.metrics().rejected(GatewayMetrics.Rejection.AUTH_FAILED);
                gateway.audit().expired(auth.principal(), "websocket " + clientAddress.getHostAddress());
                // nothing more for this principal: stop every subscription, then say why and close
                for (WsSubscription s : subscriptions.values()) {
                    stop(s);
                    gateway.subscribers().removed(s.stream, true);
                }
                subscriptions.clear();
                ObjectNode frame = error(null, GatewayError.of(HttpResponseStatus.UNAUTHORIZED, GatewayError.AUTH_EXPIRED,
                        "the credential of '" + auth.principal().name() + "' expired; send {\"op\":\"auth\"} with a "
                                + "fresh token before it does"));
                channel.write(new TextWebSocketFrame(Unpooled.wrappedBuffer(Json.bytes(frame))));
                channel.writeAndFlush(new CloseWebSocketFrame(AUTH_EXPIRED_CLOSE, "credential expired"))
                        .addListener(ChannelFutureListener.CLOSE);
                channel.eventLoop().schedule(() -> channel.close(), 5, TimeUnit.SECONDS);
            }
        }, delay, TimeUnit.MILLISECONDS);
    }

    /** {@code {"op":"auth","token":"…"}}: a fresh credential replaces the connection's; subscriptions it may no longer read end. */
    private void authenticate(JsonNode op, String id) {
        String token = required(op, "token");
        dev.wirebus.security.Authentication fresh;
        try {
            fresh = gateway.authenticate(token);
        } catch (dev.wirebus.security.AuthenticationException e) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.AUTH_FAILED);
            gateway.audit().authFailed(e.reason(), "websocket " + clientAddress.getHostAddress());
            send(error(id, GatewayError.of(HttpResponseStatus.UNAUTHORIZED, GatewayError.AUTH_FAILED, e.getMessage())
                    .with("reason", e.reason().word())));
            return;
        }
        auth = fresh;
        scheduleExpiry();
        for (WsSubscription s : new java.util.ArrayList<>(subscriptions.values())) {
            GatewayError denied = gateway.denied(auth, dev.wirebus.security.Operation.READ, s.stream, clientAddress);
            if (denied != null) {
                ended(s, null, denied, null);
            }
        }
        send(Json.object().put("type", "authenticated").put("id", id).put("principal", fresh.principal().name())
                .put("expires_at_ms", fresh.expiresAtMillis()));
    }

    /**
     * Ends the subscriptions the current policy no longer lets this connection read (a reload took
     * the permission away): each gets its {@code PERMISSION_DENIED} frame. Runs with every keepalive,
     * so a revocation reaches open connections within one interval. Event loop.
     */
    private void recheck() {
        for (WsSubscription s : new java.util.ArrayList<>(subscriptions.values())) {
            GatewayError denied = gateway.denied(auth, dev.wirebus.security.Operation.READ, s.stream, clientAddress);
            if (denied != null) {
                ended(s, null, denied, null);
            }
        }
    }

    /** True when this connection may do {@code op} on {@code resource}; else answers the refusal with {@code id}. */
    private boolean permitted(dev.wirebus.security.Operation op, String resource, String id) {
        GatewayError denied = gateway.denied(auth, op, resource, clientAddress);
        if (denied == null) {
            return true;
        }
        ObjectNode frame = error(id, denied);
        if (op == dev.wirebus.security.Operation.READ) {
            frame.put("stream", resource);
        }
        send(frame);
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof TextWebSocketFrame) {
                onText(((TextWebSocketFrame) msg).content());
            } else if (msg instanceof PingWebSocketFrame) {
                ctx.writeAndFlush(new PongWebSocketFrame(((WebSocketFrame) msg).content().retain()));
            } else if (msg instanceof CloseWebSocketFrame) {
                handshaker.close(channel, ((CloseWebSocketFrame) msg).retain());
            } else if (msg instanceof WebSocketFrame && !(msg instanceof PongWebSocketFrame)) {
                send(error(null, GatewayError.badRequest("binary frames are not understood: send JSON text frames")));
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onText(ByteBuf content) {
        String id = null;
        try {
            JsonNode op;
            if (content.hasArray()) {
                op = Json.parse(content.array(), content.arrayOffset() + content.readerIndex(), content.readableBytes());
            } else {
                byte[] bytes = io.netty.buffer.ByteBufUtil.getBytes(content);
                op = Json.parse(bytes, 0, bytes.length);
            }
            if (!op.isObject()) {
                throw new IllegalArgumentException("a message is a JSON object with \"op\"");
            }
            id = op.hasNonNull("id") ? op.get("id").asText() : null;
            long waitNanos = gateway.rateLimiter().tryAcquire(clientAddress);
            if (waitNanos > 0) {
                gateway.metrics().rejected(GatewayMetrics.Rejection.RATE_LIMITED);
                send(error(id, GatewayError.of(HttpResponseStatus.TOO_MANY_REQUESTS, GatewayError.RATE_LIMITED,
                        "rate limit of " + gateway.limits().ratePermits() + " messages per "
                                + gateway.limits().ratePeriod().toMillis() + " ms exceeded")
                        .retryAfter(TimeUnit.NANOSECONDS.toMillis(waitNanos) + 1)));
                return;
            }
            String name = op.path("op").asText("");
            switch (name) {
                case "subscribe":
                    subscribe(op, id);
                    break;
                case "unsubscribe":
                    unsubscribe(op, id);
                    break;
                case "publish":
                    publish(op, id);
                    break;
                case "request":
                    request(op, id);
                    break;
                case "ping":
                    send(Json.object().put("type", "pong").put("id", id));
                    break;
                case "auth":
                    authenticate(op, id);
                    break;
                default:
                    throw new IllegalArgumentException("unknown op '" + name
                            + "': subscribe, unsubscribe, publish, request, auth or ping");
            }
        } catch (IllegalArgumentException e) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.BAD_REQUEST);
            send(error(id, GatewayError.badRequest(e.getMessage())));
        }
    }

    private void subscribe(JsonNode op, String id) {
        String stream = required(op, "stream");
        Payloads encoding = Payloads.parse(op.hasNonNull("encoding") ? op.get("encoding").asText() : null);
        StartPosition start = StartPositions.parse(op.get("from"));
        if (!permitted(dev.wirebus.security.Operation.READ, stream, id)) {
            return;
        }
        if (subscriptions.containsKey(stream)) {
            send(error(id, GatewayError.of(HttpResponseStatus.CONFLICT, ErrorCode.DUPLICATE_SUBSCRIPTION.name(),
                    "this connection already subscribes to '" + stream + "'")));
            return;
        }
        if (subscriptions.size() >= gateway.limits().maxSubscriptionsPerConnection()) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.TOO_MANY_SUBSCRIPTIONS);
            send(error(id, GatewayError.of(HttpResponseStatus.TOO_MANY_REQUESTS, GatewayError.TOO_MANY_SUBSCRIPTIONS,
                    "this connection holds " + subscriptions.size() + " subscriptions, its maximum"))
                    .put("stream", stream));
            return;
        }
        GatewayError down = gateway.brokerUnavailable();
        if (down != null) {
            send(error(id, down).put("stream", stream));
            return;
        }
        WsSubscription s = new WsSubscription(stream, encoding, id, start);
        // first: a name the client refuses throws here, before anything of the subscription is kept
        Subscription sub = gateway.feeds().subscribe(stream, start, m -> onMessage(s, m));
        s.subscription = sub;
        subscriptions.put(stream, s);
        gateway.subscribers().added(stream, true);
        // a broker that never answers must not leave the subscribe unanswered
        ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> {
            if (!s.announced) {
                gateway.metrics().rejected(GatewayMetrics.Rejection.TIMEOUT);
                ended(s, null, gateway.timeout("the subscription to '" + stream + "'").retryAfter(1000), id);
            }
        }, gateway.limits().requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
        sub.started().whenComplete((first, failure) -> {
            deadline.cancel(false);
            if (failure == null) {
                announce(s, first);
            } else {
                channel.eventLoop().execute(() -> ended(s, failure, null, id));
            }
        });
        sub.closed().whenComplete((ok, failure) -> {
            if (failure != null && s.announced) {
                channel.eventLoop().execute(() -> ended(s, failure, null, null));
            }
        });
    }

    /** Tells the client the subscription started, before its first message. Any thread. */
    private void announce(WsSubscription s, long from) {
        synchronized (s) {
            if (s.announced || s.ended) {
                return;
            }
            s.cursor.next(from);
            send(Json.object().put("type", "subscribed").put("id", s.id).put("stream", s.stream).put("from", from));
            s.announced = true;
        }
    }

    /**
     * Client dispatch thread. The message frame carries the subscribe's {@code id}, so that a client
     * can tell a late message of an earlier subscription of the stream from its current one's. The
     * check of {@code ended} and the offer happen under the subscription's lock, the same one
     * {@link #stop} takes, so nothing is offered once a subscription stopped.
     */
    private void onMessage(WsSubscription s, Message m) {
        ByteBuf rest = SharedEncodings.ws(m, s.encoding, s.rest);
        synchronized (s) {
            if (s.ended) {
                rest.release();
                return;
            }
            if (!s.announced) {
                announce(s, m.sequence()); // the first message's sequence is where it started
            }
            outbox.offer(s.cursor, m.sequence(), s.messagePrefix, rest);
        }
    }

    /**
     * The part of a message frame's JSON that every subscriber of the stream shares:
     * {@code "stream":"…","seq":N,"data":"…"}} (or {@code "base64"}).
     */
    private static ByteBuf messageRest(ByteBufAllocator alloc, String stream, Payloads encoding, Message m) {
        byte[] name = QUOTER.quoteAsUTF8(stream);
        byte[] data = encoding == Payloads.TEXT ? QUOTER.quoteAsUTF8(encoding.encode(m.payload()))
                : encoding.encode(m.payload()).getBytes(StandardCharsets.US_ASCII);
        byte[] seq = ("\",\"seq\":" + m.sequence() + ",\"" + encoding.field() + "\":\"").getBytes(StandardCharsets.US_ASCII);
        ByteBuf b = alloc.directBuffer(STREAM_FIELD.length + name.length + seq.length + data.length + 2);
        return b.writeBytes(STREAM_FIELD).writeBytes(name).writeBytes(seq).writeBytes(data).writeByte('"').writeByte('}');
    }

    /**
     * Stops delivery of {@code s} at once: no message is offered after this, the queued ones are
     * dropped, and its cursor stays at the first sequence not written to the socket. Event loop.
     */
    private void stop(WsSubscription s) {
        synchronized (s) {
            s.ended = true;
        }
        outbox.cancel(s.cursor);
        s.subscription.close();
    }

    /** The broker refused or ended a subscription ({@code failure}), or the gateway gave up ({@code error}). Event loop. */
    private void ended(WsSubscription s, Throwable failure, GatewayError error, String id) {
        if (s.ended || subscriptions.get(s.stream) != s) {
            return;
        }
        stop(s);
        subscriptions.remove(s.stream);
        gateway.subscribers().removed(s.stream, true);
        GatewayError e = error != null ? error : GatewayError.from(failure);
        if (!e.fields().containsKey("resume_from") && s.announced && e.resumable()) {
            e = e.with("resume_from", s.cursor.next());
        }
        ObjectNode frame = error(id, e);
        frame.put("stream", s.stream);
        send(frame);
    }

    private void unsubscribe(JsonNode op, String id) {
        String stream = required(op, "stream");
        WsSubscription s = subscriptions.remove(stream);
        if (s == null) {
            send(error(id, GatewayError.of(HttpResponseStatus.NOT_FOUND, ErrorCode.UNKNOWN_SUBSCRIPTION.name(),
                    "this connection does not subscribe to '" + stream + "'")));
            return;
        }
        stop(s);
        gateway.subscribers().removed(stream, true);
        send(Json.object().put("type", "unsubscribed").put("id", id).put("stream", stream));
    }

    private void publish(JsonNode op, String id) {
        String stream = required(op, "stream");
        byte[] payload = Payloads.fromJson(op);
        PublishHeaders conditions = PublishHeaders.of(op);
        if (!permitted(dev.wirebus.security.Operation.PUBLISH, stream, id) || !takeInFlight(id)) {
            return;
        }
        CompletableFuture<dev.wirebus.client.PublishAck> f;
        try {
            f = conditions.publish(gateway.client(), stream, payload);
        } catch (RuntimeException e) {
            gateway.releaseInFlight(clientAddress);
            throw e;
        }
        f.whenComplete((ack, failure) -> {
            gateway.releaseInFlight(clientAddress);
            if (failure != null) {
                send(error(id, GatewayError.from(failure)));
                return;
            }
            ObjectNode frame = Json.object().put("type", "ack").put("id", id).put("stream", stream)
                    .put("seq", ack.firstSequence());
            if (ack.duplicate()) {
                frame.put("duplicate", true);
            }
            send(frame);
        });
    }

    private void request(JsonNode op, String id) {
        String subject = required(op, "subject");
        byte[] payload = Payloads.fromJson(op);
        Payloads encoding = Payloads.parse(op.hasNonNull("encoding") ? op.get("encoding").asText() : null);
        Duration max = gateway.limits().requestTimeout();
        Duration timeout = max;
        if (op.hasNonNull("timeout_ms")) {
            long ms = op.get("timeout_ms").asLong();
            if (ms < 1) {
                throw new IllegalArgumentException("timeout_ms must be at least 1");
            }
            timeout = Duration.ofMillis(Math.min(ms, max.toMillis()));
        }
        if (!permitted(dev.wirebus.security.Operation.REQUEST, subject, id) || !takeInFlight(id)) {
            return;
        }
        gateway.client().request(subject, payload, timeout).whenComplete((reply, failure) -> {
            gateway.releaseInFlight(clientAddress);
            if (failure != null) {
                send(error(id, GatewayError.from(failure)));
                return;
            }
            send(Json.object().put("type", "reply").put("id", id).put(encoding.field(), encoding.encode(reply)));
        });
    }

    private boolean takeInFlight(String id) {
        GatewayError down = gateway.brokerUnavailable();
        if (down != null) {
            send(error(id, down));
            return false;
        }
        GatewayError busy = gateway.acquireInFlight(clientAddress);
        if (busy == null) {
            return true;
        }
        send(error(id, busy));
        return false;
    }

    private static String required(JsonNode op, String field) {
        JsonNode n = op.get(field);
        if (n == null || !n.isTextual() || n.asText().isEmpty()) {
            throw new IllegalArgumentException("\"" + field + "\" is required");
        }
        return n.asText();
    }

    private static ObjectNode error(String id, GatewayError e) {
        ObjectNode frame = Json.object().put("type", "error");
        if (id != null) {
            frame.put("id", id);
        }
        frame.setAll(Json.error(e));
        return frame;
    }

    private void send(ObjectNode frame) {
        outbox.offer(WireFrames.text(channel.alloc(), Json.bytes(frame)));
    }

    /**
     * Where a subscription cut short resumes: once the broker confirmed it, the first sequence not
     * written to the socket; before that, the sequence it asked for, or 0 (no {@code resume_from}:
     * subscribe again as before) when it asked for {@code beginning} or {@code end}.
     */
    static long resumeFrom(boolean confirmed, long firstNotWritten, StartPosition requested) {
        if (confirmed) {
            return firstNotWritten;
        }
        return requested.kind() == StartPosition.Kind.SEQUENCE ? requested.sequence() : 0;
    }

    /** The outbox passed its limit: SLOW_CONSUMER for each subscription, then close 4008. Event loop. */
    private void overflowed() {
        gateway.metrics().rejected(GatewayMetrics.Rejection.SLOW_CONSUMER);
        String message = "the client read too slowly: more than " + gateway.limits().subscriberBufferBytes()
                + " bytes waited for it";
        for (WsSubscription s : subscriptions.values()) {
            stop(s);
            gateway.subscribers().removed(s.stream, true);
            ObjectNode frame = error(null, GatewayError.of(HttpResponseStatus.OK, GatewayError.SLOW_CONSUMER, message));
            frame.put("stream", s.stream);
            long resumeFrom = resumeFrom(s.announced, s.cursor.next(), s.start);
            if (resumeFrom > 0) {
                frame.put("resume_from", resumeFrom);
            }
            channel.write(new TextWebSocketFrame(Unpooled.wrappedBuffer(Json.bytes(frame))));
        }
        subscriptions.clear();
        channel.writeAndFlush(new CloseWebSocketFrame(SLOW_CONSUMER_CLOSE, "slow consumer"))
                .addListener(ChannelFutureListener.CLOSE);
        channel.eventLoop().schedule(() -> channel.close(), 5, TimeUnit.SECONDS);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        outbox.writabilityChanged();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        if (expiry != null) {
            expiry.cancel(false);
        }
        outbox.close();
        for (WsSubscription s : subscriptions.values()) {
            stop(s);
            gateway.subscribers().removed(s.stream, true);
        }
        subscriptions.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
