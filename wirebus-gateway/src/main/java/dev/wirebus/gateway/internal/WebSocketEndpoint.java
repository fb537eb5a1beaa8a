package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;

/**
 * {@code GET /v1/ws}: upgrades the connection to a WebSocket and hands it to a
 * {@link WebSocketSession}. The request is validated first ({@code Upgrade: websocket}, a
 * {@code Sec-WebSocket-Key}, {@code Sec-WebSocket-Version: 13}); a request that fails is answered
 * {@code 400} ({@code 426} with {@code Sec-WebSocket-Version: 13} for another version) and the
 * connection closed, with the HTTP pipeline untouched. Only once the handshake response is made do
 * the HTTP handlers leave the pipeline and the WebSocket codec (frames up to the body limit) and
 * the session join it, with a reader-idle timeout of three keepalive intervals that closes a peer
 * answering no ping.
 */
public final class WebSocketEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        FullHttpRequest request = ex.request();
        HttpHeaders headers = request.headers();
        if (!headers.containsValue(HttpHeaderNames.UPGRADE, "websocket", true)) {
            ex.fail(GatewayError.badRequest("GET /v1/ws needs Upgrade: websocket"));
            return;
        }
        String version = headers.get(HttpHeaderNames.SEC_WEBSOCKET_VERSION);
        if (version == null || version.isBlank()) {
            refuse(ex, "a WebSocket handshake needs Sec-WebSocket-Version: 13");
            return;
        }
        if (!"13".equals(version.trim())) {
            FullHttpResponse r = Responses.error(GatewayError.of(HttpResponseStatus.UPGRADE_REQUIRED,
                    GatewayError.BAD_REQUEST, "WebSocket version " + version.trim() + " is not supported: use 13"));
            r.headers().set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
            ex.gateway().metrics().rejected(GatewayMetrics.Rejection.BAD_REQUEST);
            ex.respondAndClose(r);
            return;
        }
        String key = headers.get(HttpHeaderNames.SEC_WEBSOCKET_KEY);
        if (key == null || key.isBlank()) {
            refuse(ex, "a WebSocket handshake needs Sec-WebSocket-Key");
            return;
        }
        String host = headers.get(HttpHeaderNames.HOST, "localhost");
        int maxFrame = ex.gateway().limits().maxBodyBytes();
        String scheme = ex.gateway().setup().tls() != null ? "wss://" : "ws://";
        // the only subprotocol selected: a bearer.<token> offered beside it is never echoed
        WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory(scheme + host + "/v1/ws",
                BearerTokens.WS_PROTOCOL, true, maxFrame).newHandshaker(request);
        if (handshaker == null) {
            refuse(ex, "not a WebSocket handshake Netty understands");
            return;
        }
        ChannelFuture written;
        try {
            written = handshaker.handshake(ex.ctx().channel(), request);
        } catch (WebSocketHandshakeException e) {
            refuse(ex, "bad WebSocket handshake: " + e.getMessage());
            return;
        }
        written.addListener(f -> {
            if (!f.isSuccess()) {
                ex.ctx().channel().close();
            }
        });
        // the handshake response is made: from here on the connection speaks WebSocket
        ex.streamStarted(101);
        ChannelPipeline p = ex.ctx().pipeline();
        p.remove(HttpPipeline.HEADER_TIMEOUT);
        p.remove(HttpPipeline.REQUEST_OBSERVER);
        p.remove(HttpPipeline.HTTP);
        p.remove(HttpPipeline.IDLE); // a WebSocket's liveness is its pings, below
        // a peer that answers none of the pings (every keepalive interval) for three intervals is gone
        long readerIdle = ex.gateway().limits().keepAliveInterval().toNanos() * 3;
        p.addLast("ws-reader-idle", new IdleStateHandler(readerIdle, 0, 0, TimeUnit.NANOSECONDS));
        p.addLast("ws-aggregator", new WebSocketFrameAggregator(maxFrame));
        p.addLast("ws", new WebSocketSession(ex.gateway(), handshaker, ex.ctx().channel(), ex.clientAddress(),
                ex.auth()));
    }

    private static void refuse(Exchange ex, String why) {
        ex.gateway().metrics().rejected(GatewayMetrics.Rejection.BAD_REQUEST);
        ex.respondAndClose(Responses.error(GatewayError.badRequest(why)));
    }
}
