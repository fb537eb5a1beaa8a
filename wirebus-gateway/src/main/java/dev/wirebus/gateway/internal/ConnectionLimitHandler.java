package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * Counts open connections (the {@code wirebus_http_connections_active} gauge), in all and per
 * client IP, and answers one beyond either maximum with 503 and closes it before it reaches the
 * HTTP codec. Shared by every
 * connection.
 */
@ChannelHandler.Sharable
public final class ConnectionLimitHandler extends ChannelInboundHandlerAdapter {
    private static final io.netty.util.AttributeKey<Boolean> OVER_CLIENT_LIMIT =
            io.netty.util.AttributeKey.valueOf(ConnectionLimitHandler.class, "overClientLimit");
    private final int maxConnections;
    private final ClientCounter perClient;
    private final GatewayMetrics metrics;

    public ConnectionLimitHandler(int maxConnections, int maxConnectionsPerClient, GatewayMetrics metrics) {
        this.maxConnections = maxConnections;
        this.perClient = new ClientCounter(maxConnectionsPerClient);
        this.metrics = metrics;
    }

    private static java.net.InetAddress client(ChannelHandlerContext ctx) {
        return ((java.net.InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        int open = metrics.activeConnections().incrementAndGet();
        java.net.InetAddress client = client(ctx);
        if (!perClient.tryAcquire(client)) {
            ctx.channel().attr(OVER_CLIENT_LIMIT).set(Boolean.TRUE);
            metrics.rejected(GatewayMetrics.Rejection.TOO_MANY_CONNECTIONS_PER_CLIENT);
            ctx.channel().config().setAutoRead(false);
            GatewayError e = GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.TOO_MANY_CONNECTIONS,
                    client.getHostAddress() + " has " + perClient.max() + " connections open, its maximum")
                    .retryAfter(1000);
            ctx.writeAndFlush(Responses.raw(e)).addListener(ChannelFutureListener.CLOSE);
            return;
        }
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
        try {
            ctx.fireChannelInactive();
        } finally {
            // after the handlers behind: once the gauge shows a connection gone, everything it caused is counted
            metrics.activeConnections().decrementAndGet();
            if (ctx.channel().attr(OVER_CLIENT_LIMIT).get() == null) {
                perClient.release(client(ctx));
            }
        }
    }
}
