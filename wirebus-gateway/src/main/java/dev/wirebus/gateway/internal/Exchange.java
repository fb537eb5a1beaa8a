package dev.wirebus.gateway.internal;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

/**
 * One HTTP request on its way through the gateway: the request, its route and path parameters, and
 * the way to answer it. {@link #respond} may be called from any thread (typically the client's I/O
 * thread when a broker call completes); the answer is written on the connection's event loop, once:
 * an answer after a timeout's 504 is dropped.
 *
 * <p>The request's buffer is released when the endpoint's {@code handle} returns: endpoints copy
 * what they need ({@link #body()} does).
 */
public final class Exchange extends DeadlineQueue.Entry {
    final HttpRequestHandler owner;
    final ChannelHandlerContext ctx;
    final FullHttpRequest request;
    final Route route;
    final String routeName;
    final long startNanos = System.nanoTime();
    /** Event loop only: false once the connection is to close after this answer. */
    boolean keepAlive;
    private final Map<String, String> params;
    private final QueryStringDecoder query;
    /** Event loop only. */
    boolean answered;
    boolean streaming;
    boolean holdsInFlight;
    /** The allowed foreign origin of the request (its answer gets CORS headers), or null. */
    String corsOrigin;
    /** Who calls, once authenticated (routes that reach the broker); anonymous before. */
    dev.wirebus.security.Authentication auth = dev.wirebus.gateway.GatewayAuthenticator.ANONYMOUS;

    Exchange(HttpRequestHandler owner, ChannelHandlerContext ctx, FullHttpRequest request, QueryStringDecoder query,
             Route route, Map<String, String> params, boolean keepAlive) {
        this.owner = owner;
        this.ctx = ctx;
        this.request = request;
        this.query = query;
        this.route = route;
        this.routeName = route == null ? "unmatched" : route.template();
        this.params = params;
        this.keepAlive = keepAlive;
    }

    /** The request timeout passed before the answer. */
    @Override
    protected void expired() {
        owner.timedOut(this);
    }

    /** The shared state of the gateway. */
    public GatewayContext gateway() {
        return owner.gateway();
    }

    public ChannelHandlerContext ctx() {
        return ctx;
    }

    /** The request; valid only while the endpoint's {@code handle} runs. */
    public FullHttpRequest request() {
        return request;
    }

    /** A path parameter of the route, e.g. {@code stream}. */
    public String param(String name) {
        return params.get(name);
    }

    /** The first value of a query parameter, or null. */
    public String query(String name) {
        List<String> values = query.parameters().get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /** A request header, or null. */
    public String header(CharSequence name) {
        return request.headers().get(name);
    }

    /** Who calls (see {@link dev.wirebus.gateway.GatewayAuthenticator}). */
    public dev.wirebus.security.Authentication auth() {
        return auth;
    }

    /** The allowed foreign origin of the request, whose answers carry CORS headers; null for none. */
    public String corsOrigin() {
        return corsOrigin;
    }

    /** A copy of the request body. */
    public byte[] body() {
        return ByteBufUtil.getBytes(request.content());
    }

    public InetAddress clientAddress() {
        return ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
    }

    /** Answers the request; from any thread, at most once counts. */
    public void respond(FullHttpResponse response) {
        if (ctx.executor().inEventLoop()) {
            owner.complete(this, response);
        } else {
            ctx.executor().execute(() -> owner.complete(this, response));
        }
    }

    /** Answers and closes the connection after the answer (nothing more can be read on it). Event loop. */
    public void respondAndClose(FullHttpResponse response) {
        keepAlive = false;
        respond(response);
    }

    /** Answers with a typed error. */
    public void fail(GatewayError error) {
        respond(Responses.error(error));
    }

    /** Answers with the error a failed broker call maps to. */
    public void fail(Throwable failure) {
        GatewayError e = GatewayError.from(failure);
        if (GatewayError.TIMEOUT.equals(e.code())) {
            gateway().metrics().rejected(GatewayMetrics.Rejection.TIMEOUT); // the client's own deadline passed
        }
        fail(e);
    }

    /**
     * The endpoint answered with a stream (SSE) that it writes itself from now on: the request is
     * counted with {@code status}, its limits end, and the connection belongs to the stream. Event loop.
     */
    public void streamStarted(int status) {
        owner.streamStarted(this, status);
    }
}
