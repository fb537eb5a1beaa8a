package dev.wirebus.gateway.internal;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.GatewayLimits;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** What every connection of one gateway shares: the client, its stream feeds, the limits and their state, the meters, the routes. */
public final class GatewayContext {
    private final WirebusClient client;
    private final GatewayLimits limits;
    private final PrometheusMeterRegistry registry;
    private final GatewayMetrics metrics;
    private final ClientRateLimiter rateLimiter;
    private final InFlightLimiter inFlight;
    private final StreamSubscribers subscribers;
    private final StreamFeeds feeds;
    private Router router;

    public GatewayContext(WirebusClient client, GatewayLimits limits, PrometheusMeterRegistry registry) {
        this.client = client;
        this.limits = limits;
        this.registry = registry;
        this.inFlight = new InFlightLimiter(limits.maxInFlight());
        this.metrics = new GatewayMetrics(registry, inFlight);
        this.rateLimiter = new ClientRateLimiter(limits.ratePermits(), limits.ratePeriod(), limits.rateBurst());
        this.subscribers = new StreamSubscribers(metrics);
        // a replay of the whole ring must fit in a fresh subscriber's buffer (base64 adds a third), or a
        // subscriber joining at the ring's start would be cut as slow before its first write
        this.feeds = new StreamFeeds(client, StreamFeeds.RING_MESSAGES,
                Math.max(1, Math.min(StreamFeeds.RING_BYTES, limits.subscriberBufferBytes() / 2)), StreamFeeds.LINGER);
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

    public StreamSubscribers subscribers() {
        return subscribers;
    }

    /** The shared live feeds SSE and WebSocket subscriptions go through (one broker subscription per stream). */
    public StreamFeeds feeds() {
        return feeds;
    }

    public Router router() {
        return router;
    }
}
