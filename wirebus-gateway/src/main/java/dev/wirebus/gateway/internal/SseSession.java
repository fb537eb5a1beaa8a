package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Function;
import java.util.concurrent.TimeUnit;

/**
 * One Server-Sent Events response following one subscription. The response head goes out once the
 * broker confirmed the subscription (a refusal such as {@code SEQUENCE_NOT_RETAINED} is answered as
 * a plain JSON error instead), then {@code retry: 1000} with {@code id: <first - 1>} (so that a
 * reconnect before the first event resumes where this response started), then one event per message with
 * {@code id: <seq>}, and a {@code : keepalive} comment whenever the keepalive interval passes.
 * Messages go through a {@link SubscriberOutbox}; when it overflows, or the broker ends the
 * subscription, a {@code wirebus-error} event with {@code resume_from} ends the response and the
 * connection.
 */
final class SseSession {
    private static final ByteBuf KEEPALIVE = WireFrames.constantChunk(": keepalive\n\n");

    private final Exchange exchange;
    private final GatewayContext gateway;
    private final Channel channel;
    private final String stream;
    private final StartPosition start;
    private final Payloads encoding;
    private final SubscriberOutbox outbox;
    private final SubscriberOutbox.Cursor cursor;
    private final Function<Message, ByteBuf> eventChunk = this::eventChunk;
    private volatile Subscription subscription;
    /** Event loop only. */
    private boolean streaming;
    private boolean ended;
    private ScheduledFuture<?> keepalive;

    SseSession(Exchange exchange, String stream, StartPosition start, Payloads encoding) {
        this.exchange = exchange;
        this.gateway = exchange.gateway();
        this.channel = exchange.ctx().channel();
        this.stream = stream;
        this.start = start;
        this.encoding = encoding;
        this.cursor = new SubscriberOutbox.Cursor(stream, start.sequence());
        this.outbox = new SubscriberOutbox(channel, gateway.drains(channel.eventLoop()),
                gateway.limits().subscriberBufferBytes(), gateway.metrics(), false, this::overflowed);
    }

    /**
     * Subscribes; answers once the broker confirms or refuses, or {@code 504 TIMEOUT} when it does
     * neither within the request timeout. Event loop.
     */
    void open() {
        Subscription sub = gateway.feeds().subscribe(stream, start, this::onMessage);
        subscription = sub;
        channel.closeFuture().addListener(f -> closed());
        ScheduledFuture<?> deadline = channel.eventLoop().schedule(() -> {
            if (!ended && !streaming) {
                ended = true;
                sub.close();
                outbox.close();
                gateway.metrics().rejected(GatewayMetrics.Rejection.TIMEOUT);
                exchange.fail(gateway.timeout("the subscription to '" + stream + "'"));
            }
        }, gateway.limits().requestTimeout().toNanos(), TimeUnit.NANOSECONDS);
        sub.started().whenCompleteAsync((first, failure) -> {
            deadline.cancel(false);
            if (failure != null) {
                if (!ended) {
                    ended = true;
                    sub.close();
                    outbox.close();
                    exchange.fail(failure);
                }
                return;
            }
            begin(first);
        }, channel.eventLoop());
        sub.closed().whenCompleteAsync((ok, failure) -> {
            if (failure != null && streaming) {
                GatewayError e = GatewayError.from(failure);
                if (!e.fields().containsKey("resume_from") && e.resumable()) {
                    e = e.with("resume_from", cursor.next());
                }
                end(e);
            }
        }, channel.eventLoop());
    }

    private void begin(long first) {
        if (ended || !channel.isActive()) {
            subscription.close();
            return;
        }
        cursor.next(Math.max(cursor.next(), first));
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED)
                .set("X-Accel-Buffering", "no");
        if (exchange.corsOrigin() != null) {
            RequestGuard.cors(head.headers(), exchange.corsOrigin()); // an allowed origin's EventSource reads it
        } else {
            head.headers().set(HttpHeaderNames.VARY, "Origin");
        }
        channel.write(head);
        // an id-only block sets the browser's last event ID without firing an event: a reconnect before
        // the first message then sends Last-Event-ID and resumes where this response started
        byte[] preamble = ("retry: 1000\nid: " + (cursor.next() - 1) + "\n\n").getBytes(StandardCharsets.US_ASCII);
        channel.write(new DefaultHttpContent(Unpooled.wrappedBuffer(preamble)));
        channel.flush();
        exchange.streamStarted(200);
        streaming = true;
        gateway.subscribers().added(stream, false);
        channel.pipeline().addLast("sse-writability", new ChannelInboundHandlerAdapter() {
            @Override
            public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                outbox.writabilityChanged();
                ctx.fireChannelWritabilityChanged();
            }
        });
        long every = gateway.limits().keepAliveInterval().toNanos();
        keepalive = channel.eventLoop().scheduleAtFixedRate(() -> {
            outbox.offer(KEEPALIVE.duplicate());
            recheck();
        }, every, every, TimeUnit.NANOSECONDS);
        long expiresAt = exchange.auth().expiresAtMillis();
        if (expiresAt != 0) {
            // the stream lives no longer than its credential: the browser reconnects with a fresh one
            ScheduledFuture<?> expiry = channel.eventLoop().schedule(() -> end(GatewayError.of(
                    HttpResponseStatus.UNAUTHORIZED, GatewayError.AUTH_EXPIRED, "the credential of '"
                            + exchange.auth().principal().name() + "' expired").with("resume_from", cursor.next())),
                    Math.max(0, expiresAt - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            channel.closeFuture().addListener(f -> expiry.cancel(false));
        }
        // a streaming response is not idle: its liveness is the keepalive above
        channel.pipeline().remove(HttpPipeline.IDLE);
        outbox.start(channel.pipeline().context(HttpPipeline.CODEC));
    }

    /**
     * Ends the response with {@code PERMISSION_DENIED} when the current policy no longer lets its
     * caller read the stream (a reload took the permission away); with every keepalive. Event loop.
     */
    private void recheck() {
        GatewayError denied = gateway.denied(exchange.auth(), dev.wirebus.security.Operation.READ, stream,
                exchange.clientAddress());
        if (denied != null) {
            end(denied.with("resume_from", cursor.next()));
        }
    }

    /** Client dispatch thread. */
    private void onMessage(Message m) {
        outbox.offer(cursor, m.sequence(), SharedEncodings.sse(m, encoding, eventChunk));
    }

    /** The event of {@code m} as a chunk of the response body. */
    private ByteBuf eventChunk(Message m) {
        return WireFrames.chunk(channel.alloc(), event(m));
    }

    private byte[] event(Message m) {
        StringBuilder sb = new StringBuilder(m.payload().length + 24).append("id: ").append(m.sequence()).append('\n');
        String data = encoding.encode(m.payload());
        int from = 0;
        int n = data.length();
        for (int i = 0; i < n; i++) {
            char c = data.charAt(i);
            if (c == '\n' || c == '\r') {
                sb.append("data: ").append(data, from, i).append('\n');
                if (c == '\r' && i + 1 < n && data.charAt(i + 1) == '\n') {
                    i++;
                }
                from = i + 1;
            }
        }
        sb.append("data: ").append(data, from, n).append("\n\n");
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The outbox passed its limit. Event loop. */
    private void overflowed() {
        gateway.metrics().rejected(GatewayMetrics.Rejection.SLOW_CONSUMER);
        end(GatewayError.of(HttpResponseStatus.OK, GatewayError.SLOW_CONSUMER, "the client read too slowly: more than "
                + gateway.limits().subscriberBufferBytes() + " bytes waited for it").with("resume_from", cursor.next()));
    }

    /**
     * Ends the response with a wirebus-error event and closes the connection; before the response
     * head went out, answers a plain JSON error instead ({@code 503} for {@code SLOW_CONSUMER}). Event loop.
     */
    private void end(GatewayError error) {
        if (ended) {
            return;
        }
        ended = true;
        subscription.close();
        outbox.close();
        if (!streaming) {
            GatewayError plain = error;
            if (GatewayError.SLOW_CONSUMER.equals(error.code())) {
                plain = GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, error.code(), error.message())
                        .retryAfter(1000);
            }
            exchange.fail(plain);
            return;
        }
        ObjectNode data = Json.error(error);
        data.put("stream", stream);
        byte[] event = ("event: wirebus-error\ndata: " + new String(Json.bytes(data), StandardCharsets.UTF_8) + "\n\n")
                .getBytes(StandardCharsets.UTF_8);
        channel.write(new DefaultHttpContent(Unpooled.wrappedBuffer(event)));
        channel.writeAndFlush(new DefaultLastHttpContent()).addListener(ChannelFutureListener.CLOSE);
        // a client that reads nothing never lets that write complete: close anyway
        channel.eventLoop().schedule(() -> channel.close(), 5, TimeUnit.SECONDS);
    }

    /** The connection closed. Event loop. */
    private void closed() {
        ended = true;
        Subscription sub = subscription;
        if (sub != null) {
            sub.close();
        }
        outbox.close();
        if (keepalive != null) {
            keepalive.cancel(false);
        }
        if (streaming) {
            streaming = false;
            gateway.subscribers().removed(stream, false);
        }
    }
}
