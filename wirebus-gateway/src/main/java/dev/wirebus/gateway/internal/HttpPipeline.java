package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;

/**
 * Builds the pipeline of a gateway connection, in this order: the connection limit, the header-read
 * timeout, the idle timeout, the HTTP codec (request line and headers bounded by the header limit),
 * the request observer of the header timeout, the body aggregator (body limit) and the request
 * handler. A WebSocket upgrade later swaps the HTTP handlers for the WebSocket ones.
 */
public final class HttpPipeline extends ChannelInitializer<SocketChannel> {
    static final String HEADER_TIMEOUT = "header-timeout";
    static final String REQUEST_OBSERVER = "request-observer";
    static final String HTTP = "http";
    /** The keep-alive idle timeout: removed when a connection starts streaming (SSE, WebSocket), which has its own liveness. */
    static final String IDLE = "idle";
    /** The HTTP codec; a streaming response writes its pre-encoded chunks from its context. */
    static final String CODEC = "codec";

    private final GatewayContext gateway;
    private final ChannelGroup connections;
    private final ConnectionLimitHandler connectionLimit;

    /** {@code connections} gets every channel, so that closing the gateway closes them all. */
    public HttpPipeline(GatewayContext gateway, ChannelGroup connections) {
        this.gateway = gateway;
        this.connections = connections;
        this.connectionLimit = new ConnectionLimitHandler(gateway.limits().maxConnections(),
                gateway.limits().maxConnectionsPerClient(), gateway.metrics());
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        var limits = gateway.limits();
        HeaderReadTimeoutHandler headerTimeout = new HeaderReadTimeoutHandler(gateway);
        connections.add(ch);
        ChannelPipeline p = ch.pipeline();
        p.addLast("connections", connectionLimit);
        java.util.function.Supplier<io.netty.handler.ssl.SslContext> tls = gateway.setup().tls();
        if (tls != null) {
            // after the connection limit (a refused connection costs no handshake), before the header
            // timeout (which so also bounds a handshake that never completes)
            p.addLast("tls", tls.get().newHandler(ch.alloc()));
        }
        p.addLast(HEADER_TIMEOUT, headerTimeout);
        // idle = no request read for that long (every answer comes well within it: the request timeout is
        // shorter); a reader-idle timeout costs nothing per write, where an all-idle one adds a promise
        // and a listener to every write to watch output
        p.addLast(IDLE, new IdleStateHandler(limits.idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
        p.addLast(CODEC, new HttpServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(Math.min(8192, limits.maxHeaderBytes()))
                .setMaxHeaderSize(limits.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024)));
        p.addLast(REQUEST_OBSERVER, headerTimeout.requestObserver());
        p.addLast("aggregator", new BodyLimitAggregator(limits.maxBodyBytes(), gateway.metrics()));
        p.addLast(HTTP, new HttpRequestHandler(gateway));
    }
}
