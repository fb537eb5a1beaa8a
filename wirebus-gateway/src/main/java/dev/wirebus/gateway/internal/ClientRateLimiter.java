package dev.wirebus.gateway.internal;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A token bucket per client IP address. Buckets that are full again (their client has been quiet)
 * are dropped by {@link #evictIdle()}, which the server runs every minute, so the map holds only
 * recently active clients. Thread-safe.
 */
public final class ClientRateLimiter {
    private final Bandwidth bandwidth;
    private final long capacity;
    private final ConcurrentHashMap<InetAddress, Bucket> buckets = new ConcurrentHashMap<>();

    public ClientRateLimiter(long permits, Duration period, long burst) {
        this.capacity = burst;
        this.bandwidth = Bandwidth.builder().capacity(burst).refillGreedy(permits, period).build();
    }

    /** Takes a token for {@code client}: 0 when granted, else the nanoseconds until one is available. */
    public long tryAcquire(InetAddress client) {
        Bucket bucket = buckets.computeIfAbsent(client, c -> Bucket.builder().addLimit(bandwidth).build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        return probe.isConsumed() ? 0 : Math.max(1, probe.getNanosToWaitForRefill());
    }

    /** Drops the buckets that are full: a new bucket would be the same. */
    public void evictIdle() {
        buckets.values().removeIf(b -> b.getAvailableTokens() >= capacity);
    }

    /** Client addresses with a bucket now. */
    public int trackedClients() {
        return buckets.size();
    }
}
