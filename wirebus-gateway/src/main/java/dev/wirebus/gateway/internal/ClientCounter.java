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
    /** A counter past its last release: it counts nothing more and leaves the map. */
    private static final int RETIRED = -1;
    private final ConcurrentHashMap<InetAddress, AtomicInteger> counts = new ConcurrentHashMap<>();

    public ClientCounter(int max) {
        this.max = max;
    }

    /**
     * Counts one more for {@code client}; false (and nothing counted) when it has {@code max} already.
     * Lock-free: a count is taken with a compare-and-set on the client's counter; a counter that
     * dropped to zero is retired (set to {@link #RETIRED}) before it leaves the map, and whoever meets
     * a retired counter tries again with a fresh one, so two counters never count one client.
     */
    public boolean tryAcquire(InetAddress client) {
        return tryAcquire(client, null);
    }

    /**
     * A connection's hold on its client's counter, kept between its requests so that taking and
     * giving back a count need no map lookup. Owned by one connection (its event loop).
     */
    public static final class Slot {
        private AtomicInteger counter;
    }

    /**
     * {@link #tryAcquire(InetAddress)} starting from the counter {@code slot} used last; remembers the
     * one used now. A null slot looks the counter up.
     */
    public boolean tryAcquire(InetAddress client, Slot slot) {
        AtomicInteger c = acquire(client, slot == null ? null : slot.counter);
        if (c != null && slot != null) {
            slot.counter = c;
        }
        return c != null;
    }

    /**
     * Gives back the count taken by the last successful {@link #tryAcquire(InetAddress, Slot)} on
     * {@code slot}; a null slot looks the counter up.
     */
    public void release(InetAddress client, Slot slot) {
        release(client, slot == null ? counts.get(client) : slot.counter);
    }

    /** The counter a count was taken on, or null when {@code client} has {@code max} already. */
    private AtomicInteger acquire(InetAddress client, AtomicInteger hint) {
        // a counter that is not retired is the one in the map: it leaves the map only once retired
        AtomicInteger count = hint;
        for (;;) {
            if (count == null) {
                count = counts.get(client);
            }
            if (count == null) {
                if (max < 1) {
                    return null;
                }
                AtomicInteger fresh = new AtomicInteger(1);
                if (counts.putIfAbsent(client, fresh) == null) {
                    return fresh;
                }
                continue;
            }
            int n = count.get();
            if (n == RETIRED) {
                counts.remove(client, count); // its releaser removes it too; whoever comes first
                count = null;
                continue;
            }
            if (n >= max) {
                return null;
            }
            if (count.compareAndSet(n, n + 1)) {
                return count;
            }
        }
    }

    /** One fewer for {@code client}. */
    public void release(InetAddress client) {
        release(client, counts.get(client));
    }

    private void release(InetAddress client, AtomicInteger count) {
        if (count == null) {
            return;
        }
        if (count.decrementAndGet() <= 0 && count.compareAndSet(0, RETIRED)) {
            counts.remove(client, count);
        }
    }

    /** What {@code client} holds now. */
    public int count(InetAddress client) {
        AtomicInteger n = counts.get(client);
        return n == null ? 0 : Math.max(0, n.get());
    }

    public int max() {
        return max;
    }
}
