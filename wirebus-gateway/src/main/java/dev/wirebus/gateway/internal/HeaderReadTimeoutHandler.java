package dev.wirebus.gateway.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;

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

    /**
     * Set on a connection this handler answered with 408 and is closing: the half request the codec
     * hands on when the connection closes was rejected already and is not counted again.
     */
    static final io.netty.util.AttributeKey<Boolean> TIMED_OUT =
            io.netty.util.AttributeKey.valueOf(HeaderReadTimeoutHandler.class, "timedOut");

    private final GatewayContext gateway;
    private final long timeoutNanos;
    private State state = State.BETWEEN_REQUESTS;
    /** The clock: queued while headers or a body are awaited. */
    private final DeadlineQueue.Entry clock = new DeadlineQueue.Entry() {
        @Override
        protected void expired() {
            HeaderReadTimeoutHandler.this.expired();
        }
    };
    private DeadlineQueue deadlines;
    private ChannelHandlerContext ctx;

    public HeaderReadTimeoutHandler(GatewayContext gateway) {
        this.gateway = gateway;
        this.timeoutNanos = gateway.limits().headerTimeout().toNanos();
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
                        deadlines.add(clock);
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
        this.deadlines = gateway.headerDeadlines(ctx.executor());
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
        deadlines.add(clock);
    }

    private void cancel() {
        if (deadlines != null) {
            deadlines.remove(clock);
        }
    }

    private void expired() {
        if (state == State.BETWEEN_REQUESTS || !ctx.channel().isActive()) {
            return;
        }
        GatewayError e;
        if (state == State.READING_HEADERS) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.HEADER_TIMEOUT);
            e = GatewayError.of(HttpResponseStatus.REQUEST_TIMEOUT, "HEADER_TIMEOUT",
                    "request headers not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
        } else {
            gateway.metrics().rejected(GatewayMetrics.Rejection.BODY_TIMEOUT);
            e = GatewayError.of(HttpResponseStatus.REQUEST_TIMEOUT, GatewayError.BODY_TIMEOUT,
                    "request body not complete within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                            + " ms of its headers");
        }
        ctx.channel().attr(TIMED_OUT).set(Boolean.TRUE);
        ctx.writeAndFlush(Responses.raw(e)).addListener(ChannelFutureListener.CLOSE);
    }
}
