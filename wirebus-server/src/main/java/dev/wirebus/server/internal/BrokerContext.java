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

    public boolean shuttingDown() {
        return shuttingDown;
    }

    public void beginShutdown() {
        shuttingDown = true;
    }
}
