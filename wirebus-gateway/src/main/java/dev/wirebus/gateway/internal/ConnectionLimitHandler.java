package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Counts open connections (the {@code wirebus_http_connections_active} gauge) and answers one
 * beyond the maximum with 503 and closes it before it reaches the HTTP codec. Shared by every
 * connection.
 */
@ChannelHandler.Sharable
public final class ConnectionLimitHandler extends ChannelInboundHandlerAdapter {
    private final int maxConnections;
    private final GatewayMetrics metrics;

    public ConnectionLimitHandler(int maxConnections, GatewayMetrics metrics) {
        this.maxConnections = maxConnections;
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        int open = metrics.activeConnections().incrementAndGet();
        if (open > maxConnections) {
            metrics.rejected(GatewayMetrics.Rejection.TOO_MANY_CONNECTIONS);
            ctx.channel().config().setAutoRead(false);
            GatewayError e = GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.TOO_MANY_CONNECTIONS,
                    "the gateway has " + maxConnections + " connections open, its maximum").retryAfter(1000);
            ctx.writeAndFlush(Responses.raw(e)).addListener(ChannelFutureListener.CLOSE);
            return; // the handlers after this one never see the connection
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        metrics.activeConnections().decrementAndGet();
        ctx.fireChannelInactive();
    }
}
