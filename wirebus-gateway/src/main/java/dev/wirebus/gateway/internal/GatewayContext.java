package dev.wirebus.gateway.internal;

import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.GatewayLimits;
import dev.wirebus.security.Authentication;
import dev.wirebus.security.AuthenticationException;
import dev.wirebus.security.Operation;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpResponseStatus;

/** What every connection of one gateway shares: the client, its stream feeds, the limits and their state, the meters, the routes. */
public final class GatewayContext {
    private final WirebusClient client;
    private final GatewayLimits limits;
    private final PrometheusMeterRegistry registry;
    private final GatewayMetrics metrics;
    private final ClientRateLimiter rateLimiter;
    private final InFlightLimiter inFlight;
    private final ClientCounter inFlightPerClient;
    private final StreamSubscribers subscribers;
    private final StreamFeeds feeds;
    private final java.util.concurrent.ConcurrentHashMap<io.netty.channel.EventLoop, OutboxDrains> drains =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<io.netty.util.concurrent.EventExecutor, DeadlineQueue> requestDeadlines =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<io.netty.util.concurrent.EventExecutor, DeadlineQueue> headerDeadlines =
            new java.util.concurrent.ConcurrentHashMap<>();
    private Router router;
    private final GatewaySetup setup;
    /** One line per denial or refused credential, at most 20 a second (logger wirebus.audit). */
    private final dev.wirebus.security.AuditLog audit = new dev.wirebus.security.AuditLog(20);
    private volatile RequestGuard guard;

    public GatewayContext(WirebusClient client, GatewayLimits limits, PrometheusMeterRegistry registry) {
        this(client, limits, registry, GatewaySetup.defaults());
    }

    public GatewayContext(WirebusClient client, GatewayLimits limits, PrometheusMeterRegistry registry,
                          GatewaySetup setup) {
        this.setup = setup;
        this.guard = new RequestGuard(setup.access(), true, setup.tls() != null);
        this.client = client;
        this.limits = limits;
        this.registry = registry;
        this.inFlight = new InFlightLimiter(limits.maxInFlight());
        this.inFlightPerClient = new ClientCounter(limits.maxInFlightPerClient());
        this.metrics = new GatewayMetrics(registry, inFlight);
        this.rateLimiter = new ClientRateLimiter(limits.ratePermits(), limits.ratePeriod(), limits.rateBurst());
        this.subscribers = new StreamSubscribers(metrics);
        // a replay of the whole ring must fit in a fresh subscriber's buffer (base64 adds a third), or a
        // subscriber joining at the ring's start would be cut as slow before its first write
        this.feeds = new StreamFeeds(client, StreamFeeds.RING_MESSAGES,
                Math.max(1, Math.min(StreamFeeds.RING_BYTES, limits.subscriberBufferBytes() / 2)), StreamFeeds.LINGER);
    }

    /** The gateway's settings besides its limits. */
    public GatewaySetup setup() {
        return setup;
    }

    /** The browser checks; set once the listening address is known (loopback or not). */
    public RequestGuard guard() {
        return guard;
    }

    void guard(RequestGuard guard) {
        this.guard = guard;
    }

    /**
     * The authentication of {@code token} (null: none presented).
     *
     * @throws AuthenticationException when the token is refused or has expired
     */
    public Authentication authenticate(String token) throws AuthenticationException {
        Authentication a = setup.authenticator().authenticate(token);
        if (a == null) {
            throw new AuthenticationException(AuthenticationException.Reason.UNKNOWN_CREDENTIAL,
                    "credential not recognised");
        }
        if (expired(a, System.currentTimeMillis())) {
            throw new AuthenticationException(AuthenticationException.Reason.EXPIRED, "the credential of '"
                    + a.principal().name() + "' expired at " + java.time.Instant.ofEpochMilli(a.expiresAtMillis()));
        }
        return a;
    }

    /** The audit log of denials, refused and expired credentials. */
    public dev.wirebus.security.AuditLog audit() {
        return audit;
    }

    /** Whether {@code a} has expired at {@code nowMillis} (never when its expiry is 0). */
    public static boolean expired(Authentication a, long nowMillis) {
        return a.expiresAtMillis() != 0 && nowMillis >= a.expiresAtMillis();
    }

    /**
     * Null when {@code auth} may do {@code op} on {@code resource}; else the refusal: {@code 401
     * AUTH_REQUIRED} for a caller without a credential, {@code 403 PERMISSION_DENIED} otherwise, both
     * naming the operation and the resource asked for (and nothing else: no other stream's name).
     */
    public GatewayError denied(Authentication auth, Operation op, String resource, java.net.InetAddress peer) {
        if (setup.authenticator().policy().allows(auth.principal(), op, resource)) {
            return null;
        }
        metrics.rejected(GatewayMetrics.Rejection.PERMISSION_DENIED);
        audit.denied(auth.principal(), op, resource, "http " + peer.getHostAddress());
        String what = op.word() + " on '" + resource + "'";
        GatewayError e = auth.principal().isAnonymous()
                ? GatewayError.of(HttpResponseStatus.UNAUTHORIZED, GatewayError.AUTH_REQUIRED,
                        what + " needs a credential: send Authorization: Bearer <token>")
                : GatewayError.of(HttpResponseStatus.FORBIDDEN, GatewayError.PERMISSION_DENIED,
                        what + " is not permitted for '" + auth.principal().name() + "'");
        return e.with("operation", op.word()).with("resource", resource);
    }

    void router(Router router) {
        this.router = router;
    }

    public WirebusClient client() {
        return client;
    }

    public GatewayLimits limits() {
        return limits;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    public GatewayMetrics metrics() {
        return metrics;
    }

    public ClientRateLimiter rateLimiter() {
        return rateLimiter;
    }

    public InFlightLimiter inFlight() {
        return inFlight;
    }

    /**
     * Takes an in-flight slot for a call of {@code client}: null when granted (release it with
     * {@link #releaseInFlight}), else the {@code 503 TOO_MANY_IN_FLIGHT} to answer (counted), when
     * the client holds its own maximum or all clients together hold the gateway's.
     */
    public GatewayError acquireInFlight(java.net.InetAddress client) {
        return acquireInFlight(client, null);
    }

    /**
     * {@link #acquireInFlight(java.net.InetAddress)} for a connection that keeps its client's counter
     * in {@code slot} between requests (null: look it up); give it back with
     * {@link #releaseInFlight(java.net.InetAddress, ClientCounter.Slot)} and the same slot.
     */
    public GatewayError acquireInFlight(java.net.InetAddress client, ClientCounter.Slot slot) {
        if (!inFlightPerClient.tryAcquire(client, slot)) {
            metrics.rejected(GatewayMetrics.Rejection.TOO_MANY_IN_FLIGHT_PER_CLIENT);
            return GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.TOO_MANY_IN_FLIGHT,
                    limits.maxInFlightPerClient() + " calls of " + client.getHostAddress()
                            + " already wait for the broker").retryAfter(1000);
        }
        if (!inFlight.tryAcquire()) {
            inFlightPerClient.release(client, slot);
            metrics.rejected(GatewayMetrics.Rejection.TOO_MANY_IN_FLIGHT);
            return GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.TOO_MANY_IN_FLIGHT,
                    limits.maxInFlight() + " calls already wait for the broker").retryAfter(1000);
        }
        return null;
    }

    /** Gives back a slot of {@link #acquireInFlight}. */
    public void releaseInFlight(java.net.InetAddress client) {
        releaseInFlight(client, null);
    }

    /** Gives back a slot of {@link #acquireInFlight(java.net.InetAddress, ClientCounter.Slot)}. */
    public void releaseInFlight(java.net.InetAddress client, ClientCounter.Slot slot) {
        inFlight.release();
        inFlightPerClient.release(client, slot);
    }

    public StreamSubscribers subscribers() {
        return subscribers;
    }

    /** The outbox drains of {@code loop} (one per event loop of the gateway). */
    public OutboxDrains drains(io.netty.channel.EventLoop loop) {
        return drains.computeIfAbsent(loop, OutboxDrains::new);
    }

    /** The request timeouts of the connections on {@code loop}: one queue per event loop. */
    public DeadlineQueue requestDeadlines(io.netty.util.concurrent.EventExecutor loop) {
        return requestDeadlines.computeIfAbsent(loop, l -> new DeadlineQueue(l, limits.requestTimeout().toNanos()));
    }

    /** The header (and body) read timeouts of the connections on {@code loop}: one queue per event loop. */
    public DeadlineQueue headerDeadlines(io.netty.util.concurrent.EventExecutor loop) {
        return headerDeadlines.computeIfAbsent(loop, l -> new DeadlineQueue(l, limits.headerTimeout().toNanos()));
    }

    /** The shared live feeds SSE and WebSocket subscriptions go through (one broker subscription per stream). */
    public StreamFeeds feeds() {
        return feeds;
    }

    public Router router() {
        return router;
    }

    /**
     * {@code 503 BROKER_UNAVAILABLE} (retry after 1 s, counted) when the client is not connected to
     * the broker now, else null: a call made then would only wait for its deadline.
     */
    public GatewayError brokerUnavailable() {
        ConnectionState state = client.state();
        if (state == ConnectionState.CONNECTED) {
            return null;
        }
        metrics.rejected(GatewayMetrics.Rejection.BROKER_UNAVAILABLE);
        return GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.BROKER_UNAVAILABLE,
                "the gateway is not connected to the broker now (" + state.name().toLowerCase(java.util.Locale.ROOT)
                        + ")").retryAfter(1000);
    }

    /** {@code 504 TIMEOUT}: the broker did not answer within the request timeout. */
    public GatewayError timeout(String what) {
        return GatewayError.of(HttpResponseStatus.GATEWAY_TIMEOUT, GatewayError.TIMEOUT,
                "no answer from the broker to " + what + " within " + limits.requestTimeout().toMillis() + " ms");
    }
}
