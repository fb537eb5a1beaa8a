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
 * A kept-alive connection waiting for its next request is left to the idle timeout.
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
                }
                if (msg instanceof LastHttpContent) {
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
        if (state != State.READING_HEADERS || !ctx.channel().isActive()) {
            return;
        }
        metrics.rejected(GatewayMetrics.Rejection.HEADER_TIMEOUT);
        GatewayError e = GatewayError.of(HttpResponseStatus.REQUEST_TIMEOUT, "HEADER_TIMEOUT",
                "request headers not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
        ctx.writeAndFlush(Responses.raw(e)).addListener(ChannelFutureListener.CLOSE);
    }
}
