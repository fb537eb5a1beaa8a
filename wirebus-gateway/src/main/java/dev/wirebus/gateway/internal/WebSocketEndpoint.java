package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;

/**
 * {@code GET /v1/ws}: upgrades the connection to a WebSocket and hands it to a
 * {@link WebSocketSession}: the HTTP handlers leave the pipeline, the WebSocket codec (frames up to
 * the body limit) and the session join it.
 */
public final class WebSocketEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        FullHttpRequest request = ex.request();
        String host = request.headers().get(HttpHeaderNames.HOST, "localhost");
        int maxFrame = ex.gateway().limits().maxBodyBytes();
        WebSocketServerHandshaker handshaker = new WebSocketServerHandshakerFactory("ws://" + host + "/v1/ws", null,
                true, maxFrame).newHandshaker(request);
        if (handshaker == null) {
            ex.streamStarted(426);
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ex.ctx().channel());
            return;
        }
        if (!request.headers().containsValue(HttpHeaderNames.UPGRADE, "websocket", true)) {
            ex.fail(GatewayError.badRequest("GET /v1/ws needs Upgrade: websocket"));
            return;
        }
        ex.streamStarted(101);
        ChannelPipeline p = ex.ctx().pipeline();
        p.remove(HttpPipeline.HEADER_TIMEOUT);
        p.remove(HttpPipeline.REQUEST_OBSERVER);
        p.remove(HttpPipeline.HTTP);
        handshaker.handshake(ex.ctx().channel(), request).addListener(f -> {
            if (!f.isSuccess()) {
                ex.ctx().channel().close();
            }
        });
        p.addLast("ws-aggregator", new WebSocketFrameAggregator(maxFrame));
        p.addLast("ws", new WebSocketSession(ex.gateway(), handshaker, ex.ctx().channel(), ex.clientAddress()));
    }

}
