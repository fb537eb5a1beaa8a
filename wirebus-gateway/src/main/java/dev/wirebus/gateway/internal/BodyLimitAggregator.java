package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;

/**
 * Collects a request and its body into one {@code FullHttpRequest}, up to the body limit; a larger
 * body is answered 413 with a JSON error and counted. As in Netty's own aggregator, a kept-alive
 * connection whose body can be skipped stays open; otherwise it is closed.
 */
public final class BodyLimitAggregator extends HttpObjectAggregator {
    private final GatewayMetrics metrics;

    public BodyLimitAggregator(int maxBodyBytes, GatewayMetrics metrics) {
        super(maxBodyBytes, true);
        this.metrics = metrics;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
        if (!(oversized instanceof HttpRequest)) {
            ctx.close();
            return;
        }
        metrics.rejected(GatewayMetrics.Rejection.BODY_TOO_LARGE);
        FullHttpResponse r = Responses.error(GatewayError.of(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
                GatewayError.BODY_TOO_LARGE, "request body larger than " + maxContentLength() + " bytes"));
        boolean close = oversized instanceof FullHttpMessage
                || !HttpUtil.is100ContinueExpected(oversized) && !HttpUtil.isKeepAlive(oversized);
        HttpUtil.setKeepAlive(r, !close);
        if (close) {
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
        }
    }
}
