package dev.wirebus.gateway.internal;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A count per client IP address up to a maximum (connections, in-flight calls), so that one client
 * cannot take what all share. An address is forgotten when its count returns to zero, so the map
 * holds only clients with something open. Thread-safe.
 */
public final class ClientCounter {
    private final int max;
    private final ConcurrentHashMap<InetAddress, AtomicInteger> counts = new ConcurrentHashMap<>();

    public ClientCounter(int max) {
        this.max = max;
    }

    /** Counts one more for {@code client}; false (and nothing counted) when it has {@code max} already. */
    public boolean tryAcquire(InetAddress client) {
        boolean[] granted = new boolean[1];
        counts.compute(client, (c, n) -> {
            AtomicInteger count = n == null ? new AtomicInteger() : n;
            if (count.get() < max) {
                count.incrementAndGet();
                granted[0] = true;
            }
            return count.get() == 0 ? null : count;
        });
        return granted[0];
    }

    /** One fewer for {@code client}. */
    public void release(InetAddress client) {
        counts.computeIfPresent(client, (c, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    /** What {@code client} holds now. */
    public int count(InetAddress client) {
        AtomicInteger n = counts.get(client);
        return n == null ? 0 : n.get();
    }

    public int max() {
        return max;
    }
}
