package dev.wirebus.server.internal;

import dev.wirebus.server.BrokerConfig;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The state every connection of one broker shares. */
public final class BrokerContext {
    private final BrokerConfig config;
    private final StreamRegistry streams;
    private final RequestRouter router;
    private final Set<ConnectionHandler> connections = ConcurrentHashMap.newKeySet();
    private final long storeId = java.util.concurrent.ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
    private volatile boolean shuttingDown;

    public BrokerContext(BrokerConfig config) {
        this.config = config;
        this.streams = new StreamRegistry(config.retentionMessages(), config.retentionBytes());
        this.router = new RequestRouter(config.maxRequestTimeout().toMillis());
    }

    public BrokerConfig config() {
        return config;
    }

    public StreamRegistry streams() {
        return streams;
    }

    public RequestRouter router() {
        return router;
    }

    public Set<ConnectionHandler> connections() {
        return connections;
    }

    /** Identifies this broker's store in WELCOME: random per start while streams live in memory. */
    public long storeId() {
        return storeId;
    }

    public boolean shuttingDown() {
        return shuttingDown;
    }

    public void beginShutdown() {
        shuttingDown = true;
    }
}
