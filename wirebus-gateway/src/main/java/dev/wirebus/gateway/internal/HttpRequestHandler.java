package dev.wirebus.gateway.internal;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.ReadOnlyHttpHeaders;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * The last handler of an HTTP connection: refuses requests the codec could not decode (431 for
 * headers too large), applies the rate limit, the in-flight limit and the request timeout, routes
 * each request to its endpoint and writes the answers in request order (pipelined requests wait
 * their turn; beyond {@code maxPipelined} waiting, or while the answers before are not written, the socket is not read until they are served).
 * Closes an idle connection. Event loop only, except
 * that answers arrive through {@link Exchange#respond} from any thread.
 */
public final class HttpRequestHandler extends ChannelInboundHandlerAdapter {
    /**
     * Pipelined requests held while one is served ({@link dev.wirebus.gateway.GatewayLimits#maxPipelined()});
     * at this many the socket stops being read (the reads are not switched off for every request:
     * that is two epoll_ctl calls per request).
     */
    private final int maxPipelined;
    /** The last answer is not written yet (the channel is not writable): the next request waits for it. */
    private boolean awaitingWrite;
    private final GatewayContext gateway;
    private final ArrayDeque<FullHttpRequest> waiting = new ArrayDeque<>(2);
    private Exchange current;
    private DeadlineQueue requestDeadlines;
    /** This connection's hold on its client's in-flight counter (one request in flight at a time). */
    private final ClientCounter.Slot inFlightSlot = new ClientCounter.Slot();

    public HttpRequestHandler(GatewayContext gateway) {
        this.gateway = gateway;
        this.maxPipelined = gateway.limits().maxPipelined();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        requestDeadlines = gateway.requestDeadlines(ctx.executor());
    }

    GatewayContext gateway() {
        return gateway;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof FullHttpRequest)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        FullHttpRequest request = (FullHttpRequest) msg;
        if (current != null || awaitingWrite) {
            if (current != null && current.streaming) {
                request.release(); // the connection belongs to an event stream now
            } else {
                waiting.add(request);
                if (waiting.size() >= maxPipelined) {
                    ctx.channel().config().setAutoRead(false);
                }
            }
            return;
        }
        process(ctx, request);
    }

    private void process(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!request.decoderResult().isSuccess()) {
            refuseUndecodable(ctx, request);
            return;
        }
        try {
            serve(ctx, request);
        } finally {
            request.release(); // whatever happened: endpoints copy what they keep
        }
    }

    private void serve(ChannelHandlerContext ctx, FullHttpRequest request) {
        QueryStringDecoder query = new QueryStringDecoder(request.uri());
        String path = query.rawPath();
        Router.Match match;
        GatewayError malformed = null;
        try {
            match = gateway.router().match(request.method(), path); // decodes each path segment once
        } catch (IllegalArgumentException e) {
            match = null;
            malformed = GatewayError.badRequest("malformed path " + path + ": " + e.getMessage());
        }
        Route route = match == null ? null : match.route();
        Exchange ex = new Exchange(this, ctx, request, query, route, match == null ? java.util.Map.of() : match.params(),
                HttpUtil.isKeepAlive(request));
        current = ex;
        try {
            // the browser checks come first: nothing of a refused request reaches an endpoint
            RequestGuard guard = gateway.guard();
            GatewayError badHost = guard.checkHost(request);
            if (badHost != null) {
                gateway.metrics().rejected(GatewayMetrics.Rejection.HOST_NOT_ALLOWED);
                ex.fail(badHost);
                return;
            }
            RequestGuard.OriginKind origin = guard.classify(request);
            if (origin == RequestGuard.OriginKind.FOREIGN) {
                gateway.metrics().rejected(GatewayMetrics.Rejection.ORIGIN_NOT_ALLOWED);
                ex.fail(RequestGuard.foreignOrigin(request));
                return;
            }
            if (origin == RequestGuard.OriginKind.ALLOWED) {
                ex.corsOrigin = request.headers().get(HttpHeaderNames.ORIGIN);
            }
            if (HttpMethod.OPTIONS.equals(request.method()) && malformed == null) {
                java.util.List<HttpMethod> methods = gateway.router().methods(path);
                if (methods.isEmpty()) {
                    ex.fail(GatewayError.of(HttpResponseStatus.NOT_FOUND, GatewayError.NOT_FOUND, "no such path: " + path));
                } else {
                    ex.respond(guard.options(request, methods, origin));
                }
                return;
            }
            if (malformed != null) {
                gateway.metrics().rejected(GatewayMetrics.Rejection.BAD_REQUEST);
                ex.fail(malformed);
                return;
            }
            if (route == null) {
                ex.fail(match == null
                        ? GatewayError.of(HttpResponseStatus.NOT_FOUND, GatewayError.NOT_FOUND, "no such path: " + path)
                        : GatewayError.of(HttpResponseStatus.METHOD_NOT_ALLOWED, GatewayError.METHOD_NOT_ALLOWED,
                                request.method() + " is not allowed on " + path));
                return;
            }
            if (route.kind() != Route.Kind.EXEMPT) {
                long waitNanos = gateway.rateLimiter().tryAcquire(ex.clientAddress());
                if (waitNanos > 0) {
                    gateway.metrics().rejected(GatewayMetrics.Rejection.RATE_LIMITED);
                    ex.fail(GatewayError.of(HttpResponseStatus.TOO_MANY_REQUESTS, GatewayError.RATE_LIMITED,
                            "rate limit of " + gateway.limits().ratePermits() + " requests per "
                                    + gateway.limits().ratePeriod().toMillis() + " ms for " + ex.clientAddress().getHostAddress()
                                    + " exceeded").retryAfter(TimeUnit.NANOSECONDS.toMillis(waitNanos) + 1));
                    return;
                }
            }
            if (route.kind() == Route.Kind.BROKER || route.kind() == Route.Kind.STREAMING || route.operation() != null) {
                GatewayError refused = authenticate(ex, route);
                if (refused != null) {
                    ex.fail(refused);
                    return;
                }
            }
            if (route.kind() == Route.Kind.BROKER) {
                GatewayError down = gateway.brokerUnavailable();
                if (down != null) {
                    ex.fail(down);
                    return;
                }
                GatewayError busy = gateway.acquireInFlight(ex.clientAddress(), inFlightSlot);
                if (busy != null) {
                    ex.fail(busy);
                    return;
                }
                ex.holdsInFlight = true;
                requestDeadlines.add(ex);
            }
            route.endpoint().handle(ex);
        } catch (IllegalArgumentException e) {
            ex.fail(GatewayError.badRequest(e.getMessage()));
        } catch (Exception e) {
            ex.fail(e);
        }
    }

    /**
     * Establishes who calls ({@link Exchange#auth}) from its bearer token and checks the route's
     * operation: null when it may go on, else the 401 or 403 to answer.
     */
    private GatewayError authenticate(Exchange ex, Route route) {
        String token;
        try {
            token = BearerTokens.of(ex.request(), ex.query("token"), route.kind() == Route.Kind.STREAMING);
        } catch (IllegalArgumentException e) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.AUTH_FAILED);
            return GatewayError.of(HttpResponseStatus.UNAUTHORIZED, GatewayError.AUTH_FAILED, e.getMessage());
        }
        try {
            ex.auth = gateway.authenticate(token);
        } catch (dev.wirebus.security.AuthenticationException e) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.AUTH_FAILED);
            gateway.audit().authFailed(e.reason(), "http " + ex.clientAddress().getHostAddress());
            return GatewayError.of(HttpResponseStatus.UNAUTHORIZED, GatewayError.AUTH_FAILED, e.getMessage())
                    .with("reason", e.reason().word());
        }
        if (route.operation() == null) {
            return null;
        }
        String resource = route.resourceParam() == null ? "*" : ex.param(route.resourceParam());
        return gateway.denied(ex.auth, route.operation(), resource, ex.clientAddress());
    }

    /** 431 when the headers or 414 when the request line were too long, 400 otherwise; then close. */
    private void refuseUndecodable(ChannelHandlerContext ctx, FullHttpRequest request) {
        Throwable cause = request.decoderResult().cause();
        request.release();
        if (ctx.channel().hasAttr(HeaderReadTimeoutHandler.TIMED_OUT)) {
            return; // the rest of a request already answered with 408: one rejection, counted once
        }
        GatewayError e;
        if (cause instanceof TooLongHttpHeaderException) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.HEADER_TOO_LARGE);
            e = GatewayError.of(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, GatewayError.HEADER_TOO_LARGE,
                    "request headers larger than " + gateway.limits().maxHeaderBytes() + " bytes");
        } else if (cause instanceof TooLongHttpLineException || cause instanceof TooLongFrameException) {
            gateway.metrics().rejected(GatewayMetrics.Rejection.LINE_TOO_LONG);
            e = GatewayError.of(HttpResponseStatus.REQUEST_URI_TOO_LONG, GatewayError.BAD_REQUEST,
                    "request line too long: " + cause.getMessage());
        } else {
            gateway.metrics().rejected(GatewayMetrics.Rejection.BAD_REQUEST);
            e = GatewayError.badRequest("not a valid HTTP request: " + cause);
        }
        FullHttpResponse r = Responses.error(e);
        r.headers().set(HttpHeaderNames.CONNECTION, "close");
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        current = new Exchange(this, ctx, null, null, null, java.util.Map.of(), false);
        current.answered = true;
        current.streaming = true; // whatever else arrives is dropped: the connection is closing
    }

    /** The request timeout of {@code ex} passed. Event loop. */
    void timedOut(Exchange ex) {
        if (ex.answered) {
            return;
        }
        gateway.metrics().rejected(GatewayMetrics.Rejection.TIMEOUT);
        complete(ex, Responses.error(gateway.timeout(ex.route.method() + " " + ex.route.template())));
    }

    /** Writes the answer of {@code ex} unless it was answered already, then serves the next request. Event loop. */
    void complete(Exchange ex, FullHttpResponse response) {
        if (ex.answered) {
            response.release();
            return;
        }
        finish(ex, response.status().code());
        boolean keepAlive = ex.keepAlive && ex.ctx.channel().isActive();
        if (ex.corsOrigin != null || (ex.request != null && HttpMethod.GET.equals(ex.request.method()))) {
            if (response.headers() instanceof ReadOnlyHttpHeaders) {
                FullHttpResponse copy = response.replace(response.content()); // writable copies of the headers
                response = copy;
            }
            if (ex.corsOrigin != null) {
                RequestGuard.cors(response.headers(), ex.corsOrigin);
            } else {
                response.headers().set(HttpHeaderNames.VARY, "Origin"); // a cache keeps answers per origin
            }
        }
        if (response.headers() instanceof ReadOnlyHttpHeaders) {
            if (!keepAlive) {
                response = response.replace(response.content()); // writable copies of the headers
                HttpUtil.setKeepAlive(response, false);
            } // else: an HTTP/1.1 answer keeps the connection alive without a Connection header
        } else {
            HttpUtil.setKeepAlive(response, keepAlive);
        }
        ChannelFuture written = ex.ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
            return; // current stays set: nothing more is served on this connection
        }
        current = null;
        if (!ex.ctx.channel().isWritable()) {
            // the client is not reading its answers: serve nothing more until they are written
            awaitingWrite = true;
            gateway.metrics().pausedConnections().incrementAndGet();
            ex.ctx.channel().config().setAutoRead(false);
            return;
        }
        serveNext(ex.ctx);
    }

    private void serveNext(ChannelHandlerContext ctx) {
        FullHttpRequest next = waiting.poll();
        if (waiting.size() < maxPipelined && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
        if (next != null) {
            process(ctx, next);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (awaitingWrite && ctx.channel().isWritable()) {
            resumeAfterWrite();
            if (current == null) {
                serveNext(ctx);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    private void resumeAfterWrite() {
        if (awaitingWrite) {
            awaitingWrite = false;
            gateway.metrics().pausedConnections().decrementAndGet();
        }
    }

    void streamStarted(Exchange ex, int status) {
        finish(ex, status);
        ex.streaming = true;
        ex.ctx.channel().config().setAutoRead(true); // to notice the client going away
        for (FullHttpRequest r : waiting) {
            r.release();
        }
        waiting.clear();
    }

    private void finish(Exchange ex, int status) {
        ex.answered = true;
        requestDeadlines.remove(ex);
        if (ex.holdsInFlight) {
            ex.holdsInFlight = false;
            gateway.releaseInFlight(ex.clientAddress(), inFlightSlot);
        }
        long nanos = System.nanoTime() - ex.startNanos;
        if (ex.route != null && ex.request != null) {
            gateway.metrics().request(ex.route, status, nanos);
        } else {
            gateway.metrics().request(ex.routeName, ex.request == null ? "?" : methodName(ex), status, nanos);
        }
    }

    private static String methodName(Exchange ex) {
        return ex.route == null ? "other" : ex.route.method().name();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        resumeAfterWrite();
        Exchange ex = current;
        if (ex != null && !ex.answered) {
            // the client left before its answer: free the slot now rather than at the broker's answer
            ex.answered = true;
            requestDeadlines.remove(ex);
            if (ex.holdsInFlight) {
                ex.holdsInFlight = false;
                gateway.releaseInFlight(ex.clientAddress(), inFlightSlot);
            }
        }
        for (FullHttpRequest r : waiting) {
            r.release();
        }
        waiting.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
