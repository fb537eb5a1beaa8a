package dev.wirebus.gateway.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The gateway's meters. In Prometheus terms: {@code wirebus_http_requests_seconds} (a histogram by
 * route, method and status), {@code wirebus_http_rejections_total} by reason,
 * {@code wirebus_http_connections_active}, {@code wirebus_http_in_flight},
 * {@code wirebus_gateway_subscribers} by transport, {@code wirebus_gateway_buffered_bytes} and
 * {@code wirebus_gateway_messages_sent_total} by transport. Thread-safe.
 */
public final class GatewayMetrics {
    /** Every rejection reason, registered at zero so that dashboards see them before the first. */
    public enum Rejection {
        RATE_LIMITED, TOO_MANY_IN_FLIGHT, TOO_MANY_CONNECTIONS, BODY_TOO_LARGE, HEADER_TOO_LARGE, LINE_TOO_LONG,
        BAD_REQUEST, TIMEOUT, HEADER_TIMEOUT, SLOW_CONSUMER, BROKER_UNAVAILABLE, TOO_MANY_IN_FLIGHT_PER_CLIENT,
        TOO_MANY_CONNECTIONS_PER_CLIENT, BODY_TIMEOUT, TOO_MANY_SUBSCRIPTIONS,
        HOST_NOT_ALLOWED, ORIGIN_NOT_ALLOWED, AUTH_FAILED, PERMISSION_DENIED;

        String tag() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private final MeterRegistry registry;
    private final Map<Rejection, Counter> rejections = new java.util.EnumMap<>(Rejection.class);
    private final Map<String, Timer> timers = new ConcurrentHashMap<>();
    /** Timers of each route by status - 100; a route's identity is its key (routes live as long as the gateway). */
    private final Map<Route, AtomicReferenceArray<Timer>> routeTimers = new ConcurrentHashMap<>();
    private final AtomicInteger activeConnections = new AtomicInteger();
    private final AtomicInteger pausedConnections = new AtomicInteger();
    private final AtomicInteger sseSubscribers = new AtomicInteger();
    private final AtomicInteger wsSubscribers = new AtomicInteger();
    /** Striped: every subscriber's queue adds and every event loop subtracts. */
    private final LongAdder bufferedBytes = new LongAdder();
    private final Counter sseMessages;
    private final Counter wsMessages;

    public GatewayMetrics(MeterRegistry registry, InFlightLimiter inFlight) {
        this.registry = registry;
        for (Rejection r : Rejection.values()) {
            rejections.put(r, Counter.builder("wirebus.http.rejections").tag("reason", r.tag())
                    .description("Requests, connections and subscribers refused or cut by a gateway limit")
                    .register(registry));
        }
        Gauge.builder("wirebus.http.connections.active", activeConnections, AtomicInteger::get)
                .description("Open HTTP connections, WebSockets and SSE streams included").register(registry);
        Gauge.builder("wirebus.http.connections.paused", pausedConnections, AtomicInteger::get)
                .description("HTTP connections whose pipelined requests wait for earlier answers to be read")
                .register(registry);
        Gauge.builder("wirebus.http.in.flight", inFlight, InFlightLimiter::inFlight)
                .description("Requests waiting for the broker now").register(registry);
        Gauge.builder("wirebus.gateway.subscribers", sseSubscribers, AtomicInteger::get).tag("transport", "sse")
                .description("Open gateway subscriptions").register(registry);
        Gauge.builder("wirebus.gateway.subscribers", wsSubscribers, AtomicInteger::get).tag("transport", "ws")
                .description("Open gateway subscriptions").register(registry);
        Gauge.builder("wirebus.gateway.buffered.bytes", bufferedBytes, LongAdder::sum)
                .description("Bytes queued in the gateway for SSE and WebSocket clients").baseUnit("bytes")
                .register(registry);
        sseMessages = Counter.builder("wirebus.gateway.messages.sent").tag("transport", "sse").register(registry);
        wsMessages = Counter.builder("wirebus.gateway.messages.sent").tag("transport", "ws").register(registry);
    }

    public void rejected(Rejection reason) {
        rejections.get(reason).increment();
    }

    /** Rejections so far for {@code reason}. */
    public double rejections(Rejection reason) {
        return rejections.get(reason).count();
    }

    /**
     * One answered request of a known route: its timer is looked up by the route's identity and the
     * status, with no key to build (this runs for every request).
     */
    public void request(Route route, int status, long nanos) {
        if (status < 100 || status > 599) {
            request(route.template(), route.method().name(), status, nanos);
            return;
        }
        AtomicReferenceArray<Timer> byStatus = routeTimers.get(route);
        if (byStatus == null) {
            byStatus = routeTimers.computeIfAbsent(route, r -> new AtomicReferenceArray<>(500));
        }
        Timer timer = byStatus.get(status - 100);
        if (timer == null) {
            timer = timer(route.template(), route.method().name(), status);
            byStatus.set(status - 100, timer);
        }
        timer.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** One answered request. */
    public void request(String route, String method, int status, long nanos) {
        timer(route, method, status).record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer timer(String route, String method, int status) {
        String key = route + ' ' + method + ' ' + status;
        Timer timer = timers.get(key);
        if (timer == null) {
            timer = timers.computeIfAbsent(key, k -> Timer.builder("wirebus.http.requests")
                    .description("HTTP requests by route template, method and status")
                    .tag("route", route).tag("method", method).tag("status", Integer.toString(status))
                    .publishPercentileHistogram()
                    .register(registry));
        }
        return timer;
    }

    /** Connections whose next request waits for the client to read the answers before it. */
    public AtomicInteger pausedConnections() {
        return pausedConnections;
    }

    public AtomicInteger activeConnections() {
        return activeConnections;
    }

    /** Subscriptions open now for {@code sse} or {@code ws}. */
    public AtomicInteger subscribers(boolean webSocket) {
        return webSocket ? wsSubscribers : sseSubscribers;
    }

    /** Bytes queued for SSE and WebSocket clients grew (or, negative, shrank) by {@code delta}. */
    public void buffered(long delta) {
        bufferedBytes.add(delta);
    }

    /** Bytes queued for SSE and WebSocket clients now. */
    public long bufferedBytes() {
        return bufferedBytes.sum();
    }

    /** {@code n} subscription messages were handed to sockets. */
    public void messagesSent(boolean webSocket, int n) {
        if (n > 0) {
            (webSocket ? wsMessages : sseMessages).increment(n);
        }
    }
}
