package dev.wirebus.server.internal;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts the broker's connections, in all and per peer (the uid on a Unix socket, read with
 * SO_PEERCRED where epoll runs; the IP address on TCP), and admits a new one only below both caps.
 * A connection admitted is counted until it closes. Thread-safe.
 */
public final class ConnectionLimits {
    private static final Logger log = LoggerFactory.getLogger(ConnectionLimits.class);

    private final int max;
    private final int maxPerPeer;
    private final BrokerMetrics metrics;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<Object, AtomicInteger> perPeer = new ConcurrentHashMap<>();

    ConnectionLimits(int max, int maxPerPeer, BrokerMetrics metrics) {
        this.max = max;
        this.maxPerPeer = maxPerPeer;
        this.metrics = metrics;
    }

    /**
     * Admits {@code ch} (counted until it closes) and returns null, or returns why it is refused
     * (counted in {@code wirebus.connections.refused}).
     */
    public String admit(Channel ch) {
        if (total.incrementAndGet() > max) {
            total.decrementAndGet();
            metrics.refused(BrokerMetrics.Refusal.MAX_CONNECTIONS);
            return "the broker holds its maximum of " + max + " connections";
        }
        Object peer = peer(ch);
        if (peer != null) {
            AtomicInteger n = perPeer.compute(peer, (k, v) -> {
                AtomicInteger c = v == null ? new AtomicInteger() : v;
                c.incrementAndGet();
                return c;
            });
            if (n.get() > maxPerPeer) {
                release(peer);
                total.decrementAndGet();
                metrics.refused(BrokerMetrics.Refusal.MAX_CONNECTIONS_PER_PEER);
                return describe(peer) + " holds its maximum of " + maxPerPeer + " connections";
            }
        }
        ch.closeFuture().addListener(f -> {
            if (peer != null) {
                release(peer);
            }
            total.decrementAndGet();
        });
        return null;
    }

    /** Open connections counted now. */
    public int count() {
        return total.get();
    }

    private void release(Object peer) {
        perPeer.computeIfPresent(peer, (k, v) -> v.decrementAndGet() == 0 ? null : v);
    }

    /** The uid of a Unix socket peer (epoll only), the IP address of a TCP peer, or null when unknown. */
    private static Object peer(Channel ch) {
        if (ch instanceof EpollDomainSocketChannel uds) {
            try {
                return new Uid(uds.peerCredentials().uid());
            } catch (IOException | RuntimeException e) {
                log.debug("no peer credentials on {}: {}", ch, e.toString());
                return null;
            }
        }
        if (ch.remoteAddress() instanceof InetSocketAddress a && a.getAddress() != null) {
            return a.getAddress();
        }
        return null;
    }

    private static String describe(Object peer) {
        return peer instanceof Uid u ? "uid " + u.uid() : "address " + ((java.net.InetAddress) peer).getHostAddress();
    }

    private record Uid(int uid) {
    }
}
