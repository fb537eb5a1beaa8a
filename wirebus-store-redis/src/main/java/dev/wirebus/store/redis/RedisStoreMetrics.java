package dev.wirebus.store.redis;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * The Redis store's meters, tagged with the store ({@code redis://host:port}, password hidden):
 * {@code wirebus.redis.append} (append script round trips, by outcome), {@code wirebus.redis.ping}
 * (the connection's latency, each second), {@code wirebus.redis.up} (1 while Redis answers),
 * {@code wirebus.redis.failovers} (each loss of Redis and each return),
 * {@code wirebus.redis.gate.rejected} and {@code wirebus.redis.gate.held} (publishes a gate held).
 */
final class RedisStoreMetrics {
    private final MeterRegistry registry;
    private final List<Meter> meters = new ArrayList<>();
    private final Timer appendOk;
    private final Timer appendFailed;
    private final Timer ping;
    private final Counter failovers;
    private final Counter gateRejected;
    private final Timer held;
    private final AtomicLong failoverCount = new AtomicLong();

    RedisStoreMetrics(MeterRegistry registry, String store, BooleanSupplier up) {
        this.registry = registry;
        appendOk = add(Timer.builder("wirebus.redis.append").description("Append script round trips to Redis")
                .tag("store", store).tag("outcome", "ok").publishPercentiles(0.5, 0.99).register(registry));
        appendFailed = add(Timer.builder("wirebus.redis.append").description("Append script round trips to Redis")
                .tag("store", store).tag("outcome", "failed").register(registry));
        ping = add(Timer.builder("wirebus.redis.ping").description("PING round trip on the store's connection")
                .tag("store", store).register(registry));
        failovers = add(Counter.builder("wirebus.redis.failovers")
                .description("Times Redis became unreachable or reachable again").tag("store", store).register(registry));
        gateRejected = add(Counter.builder("wirebus.redis.gate.rejected")
                .description("Publishes a gate held too long or refused (too many held)").tag("store", store)
                .register(registry));
        held = add(Timer.builder("wirebus.redis.gate.held").description("Time publishes were held by a gate")
                .tag("store", store).register(registry));
        add(Gauge.builder("wirebus.redis.up", up, u -> u.getAsBoolean() ? 1 : 0)
                .description("1 while the Redis store answers").tag("store", store).register(registry));
    }

    private <M extends Meter> M add(M m) {
        meters.add(m);
        return m;
    }

    void append(long nanos, boolean ok) {
        (ok ? appendOk : appendFailed).record(nanos, TimeUnit.NANOSECONDS);
    }

    void ping(long nanos) {
        ping.record(nanos, TimeUnit.NANOSECONDS);
    }

    void failover() {
        failoverCount.incrementAndGet();
        failovers.increment();
    }

    long failovers() {
        return failoverCount.get();
    }

    void gateRejected() {
        gateRejected.increment();
    }

    void heldNanos(long nanos) {
        held.record(Math.max(0, nanos), TimeUnit.NANOSECONDS);
    }

    void close() {
        meters.forEach(registry::remove);
    }
}
