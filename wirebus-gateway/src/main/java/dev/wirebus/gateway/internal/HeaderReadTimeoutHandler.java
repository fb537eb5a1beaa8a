package dev.wirebus.gateway.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection whose request headers do not arrive in full within the header timeout
 * (slow-loris): the clock starts when the connection opens, and again with the first byte of each
 * later request on a kept-alive connection; it stops when the HTTP codec has decoded the headers.
 * A request body must then be complete within the same time after its headers, or the connection
 * gets 408 {@code BODY_TIMEOUT} and is closed. A kept-alive connection waiting for its next request
 * is left to the idle timeout.
 *
 * <p>It sits before the codec and sees raw bytes; {@link #requestObserver()} sits after the codec
 * and tells it when headers and requests are complete. Event loop only.
 */
public final class HeaderReadTimeoutHandler extends ChannelInboundHandlerAdapter {
    private enum State { BETWEEN_REQUESTS, READING_HEADERS, READING_BODY }

    private final long timeoutNanos;
    private final GatewayMetrics metrics;
    private State state = State.BETWEEN_REQUESTS;
    private ScheduledFuture<?> timer;
    private ChannelHandlerContext ctx;

    public HeaderReadTimeoutHandler(Duration timeout, GatewayMetrics metrics) {
        this.timeoutNanos = timeout.toNanos();
        this.metrics = metrics;
    }

    /** The handler to put right after the HTTP codec. */
    public ChannelInboundHandlerAdapter requestObserver() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext c, Object msg) {
                if (msg instanceof HttpRequest) {
                    cancel();
                    state = State.READING_BODY;
                    if (!(msg instanceof LastHttpContent)) {
                        // the body has as long as the headers had, in total: a dribbled body is cut too
                        timer = ctx.executor().schedule(HeaderReadTimeoutHandler.this::expired, timeoutNanos,
                                TimeUnit.NANOSECONDS);
                    }
                }
                if (msg instanceof LastHttpContent) {
                    cancel();
                    state = State.BETWEEN_REQUESTS;
                }
                c.fireChannelRead(msg);
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        startClock();
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.BETWEEN_REQUESTS && msg instanceof ByteBuf && ((ByteBuf) msg).isReadable()) {
            startClock();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        cancel();
    }

    private void startClock() {
        state = State.READING_HEADERS;
        cancel();
        timer = ctx.executor().schedule(this::expired, timeoutNanos, TimeUnit.NANOSECONDS);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void expired() {
        timer = null;
        if (state == State.BETWEEN_REQUESTS || !ctx.channel().isActive()) {
            return;
        }
        GatewayError e;
        if (state == State.READING_HEADERS) {
            metrics.rejected(GatewayMetrics.Rejection.HEADER_TIMEOUT);
            e = GatewayError.of(HttpResponseStatus.REQUEST_TIMEOUT, "HEADER_TIMEOUT",
                    "request headers not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
        } else {
            metrics.rejected(GatewayMetrics.Rejection.BODY_TIMEOUT);
            e = GatewayError.of(HttpResponseStatus.REQUEST_TIMEOUT, GatewayError.BODY_TIMEOUT,
                    "request body not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                            + " ms of its headers");
        }
        ctx.writeAndFlush(Responses.raw(e)).addListener(ChannelFutureListener.CLOSE);
    }
}
