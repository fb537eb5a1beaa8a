package dev.wirebus.gateway.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the gateway's open subscriptions per stream and per transport (the subscribers gauges). Thread-safe. */
public final class StreamSubscribers {
    private final ConcurrentHashMap<String, AtomicInteger> perStream = new ConcurrentHashMap<>();
    private final GatewayMetrics metrics;

    public StreamSubscribers(GatewayMetrics metrics) {
        this.metrics = metrics;
    }

    public void added(String stream, boolean webSocket) {
        perStream.computeIfAbsent(stream, s -> new AtomicInteger()).incrementAndGet();
        metrics.subscribers(webSocket).incrementAndGet();
    }

    public void removed(String stream, boolean webSocket) {
        perStream.computeIfPresent(stream, (s, n) -> n.decrementAndGet() <= 0 ? null : n);
        metrics.subscribers(webSocket).decrementAndGet();
    }

    /** Gateway subscriptions (SSE and WebSocket) open now on {@code stream}. */
    public int on(String stream) {
        AtomicInteger n = perStream.get(stream);
        return n == null ? 0 : n.get();
    }
}
