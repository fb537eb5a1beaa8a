package dev.wirebus.server.internal;

import dev.wirebus.security.AccessPolicy;
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
    /** Asked before every operation a frame asks for; everything allowed until one is set. */
    private volatile AccessPolicy accessPolicy = AccessPolicy.ALLOW_ALL;

    private final StreamStorage storage;
    private final BrokerMetrics metrics;
    private final PartialFrameBudget partialFrames;
    private final ConnectionLimits connectionLimits;
    private final BrokerSecurity security;

    public BrokerContext(BrokerConfig config, StreamStorage storage, BrokerMetrics metrics) {
        this.config = config;
        this.partialFrames = new PartialFrameBudget(config.maxPartialFrameBytes());
        this.connectionLimits = new ConnectionLimits(config.maxConnections(), config.maxConnectionsPerPeer(), metrics);
        this.storage = storage;
        this.metrics = metrics;
        this.streams = new StreamRegistry(storage, metrics, config.maxStreams());
        this.router = new RequestRouter(config.maxRequestTimeout().toMillis(), metrics);
        this.security = new BrokerSecurity(config.security(), config.securityReloader(),
                new SecurityMetrics(config.meterRegistry()));
        this.accessPolicy = security.current().policy();
        security.onPolicy(this::accessPolicy);
        metrics.bind(this);
        storage.observeSyncs(metrics::fsync);
    }

    /** The broker-wide budget of frames received in part. */
    public PartialFrameBudget partialFrames() {
        return partialFrames;
    }

    /** Connection counts, in all and per peer. */
    public ConnectionLimits connectionLimits() {
        return connectionLimits;
    }

    /** The store's damage and open-file counts, for the metrics. */
    StorageHealth storageHealth() {
        return storage.health();
    }

    /** Access control: the configuration in force, TLS, audit and counters. */
    public BrokerSecurity security() {
        return security;
    }

    public BrokerMetrics metrics() {
        return metrics;
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
        return storage.storeId();
    }

    public StreamStorage storage() {
        return storage;
    }

    /** The policy every connection's frames are checked against ({@link AccessPolicy#ALLOW_ALL} by default). */
    public AccessPolicy accessPolicy() {
        return accessPolicy;
    }

    /** Replaces the access policy; frames read after this are checked against the new one. */
    public void accessPolicy(AccessPolicy policy) {
        this.accessPolicy = java.util.Objects.requireNonNull(policy, "policy");
    }

    /** Test hook: milliseconds between fixing a subscription's start and delivering (0 in production). */
    long subscribeSetupDelayMillis() {
        return config.subscribeSetupDelay().toMillis();
    }

    public boolean shuttingDown() {
        return shuttingDown;
    }

    public void beginShutdown() {
        shuttingDown = true;
    }
}
