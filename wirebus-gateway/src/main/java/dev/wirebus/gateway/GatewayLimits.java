package dev.wirebus.gateway;

import java.time.Duration;
import java.util.Objects;

/**
 * The limits a {@link Gateway} enforces on HTTP, Server-Sent Events and WebSocket clients. Every
 * limit has a default that suits a gateway exposed to browsers behind a load balancer; each
 * builder setter validates its value at once.
 *
 * <pre>{@code
 * GatewayLimits limits = GatewayLimits.builder()
 *     .rateLimit(50, Duration.ofSeconds(1))      // per client IP, token bucket
 *     .maxBodyBytes(64 * 1024)
 *     .requestTimeout(Duration.ofSeconds(5))
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class GatewayLimits {
    private final long ratePermits;
    private final Duration ratePeriod;
    private final long rateBurst;
    private final int maxInFlight;
    private final Duration requestTimeout;
    private final int maxBodyBytes;
    private final int maxHeaderBytes;
    private final Duration idleTimeout;
    private final Duration headerTimeout;
    private final int maxConnections;
    private final int maxConnectionsPerClient;
    private final int maxInFlightPerClient;
    private final int maxSubscriptionsPerConnection;
    private final int subscriberBufferBytes;
    private final Duration keepAliveInterval;
    private final int maxPipelined;

    private GatewayLimits(Builder b) {
        this.maxPipelined = b.maxPipelined;
        this.ratePermits = b.ratePermits;
        this.ratePeriod = b.ratePeriod;
        this.rateBurst = b.rateBurst > 0 ? b.rateBurst : b.ratePermits;
        this.maxInFlight = b.maxInFlight;
        this.requestTimeout = b.requestTimeout;
        this.maxBodyBytes = b.maxBodyBytes;
        this.maxHeaderBytes = b.maxHeaderBytes;
        this.idleTimeout = b.idleTimeout;
        this.headerTimeout = b.headerTimeout;
        this.maxConnections = b.maxConnections;
        this.maxConnectionsPerClient = b.maxConnectionsPerClient;
        this.maxInFlightPerClient = b.maxInFlightPerClient;
        this.maxSubscriptionsPerConnection = b.maxSubscriptionsPerConnection;
        this.subscriberBufferBytes = b.subscriberBufferBytes;
        this.keepAliveInterval = b.keepAliveInterval;
    }

    /** A builder with every limit at its default. */
    public static Builder builder() {
        return new Builder();
    }

    /** Every limit at its default. */
    public static GatewayLimits defaults() {
        return builder().build();
    }

    /** Requests (and WebSocket messages) each client IP may make per {@link #ratePeriod()}. */
    public long ratePermits() {
        return ratePermits;
    }

    /** The period of {@link #ratePermits()}. */
    public Duration ratePeriod() {
        return ratePeriod;
    }

    /** The token bucket's capacity: requests a client IP may make at once after being quiet. */
    public long rateBurst() {
        return rateBurst;
    }

    /** Most HTTP requests and WebSocket calls waiting for the broker at once, all clients together. */
    public int maxInFlight() {
        return maxInFlight;
    }

    /** Longest an HTTP request waits for the broker before it is answered 504. */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** Largest request body (and WebSocket message) accepted; larger ones are answered 413. */
    public int maxBodyBytes() {
        return maxBodyBytes;
    }

    /** Largest request line plus headers accepted; larger ones are answered 431. */
    public int maxHeaderBytes() {
        return maxHeaderBytes;
    }

    /** A connection that neither reads nor writes for this long is closed. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /**
     * A connection that has not sent complete request headers this long after it began is closed;
     * so is one whose request body is not complete this long after its headers.
     */
    public Duration headerTimeout() {
        return headerTimeout;
    }

    /** Most open connections; one more is answered 503 and closed. */
    public int maxConnections() {
        return maxConnections;
    }

    /** Most open connections from one client IP; one more is answered 503 and closed. */
    public int maxConnectionsPerClient() {
        return maxConnectionsPerClient;
    }

    /** Most HTTP requests and WebSocket calls of one client IP waiting for the broker at once. */
    public int maxInFlightPerClient() {
        return maxInFlightPerClient;
    }

    /** Most subscriptions one WebSocket connection may hold. */
    public int maxSubscriptionsPerConnection() {
        return maxSubscriptionsPerConnection;
    }

    /** Bytes an SSE or WebSocket connection may have queued for a slow client before it is cut. */
    public int subscriberBufferBytes() {
        return subscriberBufferBytes;
    }

    /**
     * Pipelined requests one HTTP connection may have waiting behind the one being served; at this
     * many the socket is not read. The next one is served only once the answers before it are
     * written (below the connection's write-buffer high-water mark), so a client that sends
     * requests and never reads the answers holds at most one answer above the mark.
     */
    public int maxPipelined() {
        return maxPipelined;
    }

    /** How often an idle SSE stream gets a keepalive comment and a WebSocket a ping. */
    public Duration keepAliveInterval() {
        return keepAliveInterval;
    }

    @Override
    public String toString() {
        return "rate " + ratePermits + "/" + ratePeriod.toMillis() + "ms burst " + rateBurst
                + ", in-flight " + maxInFlight + ", request timeout " + requestTimeout.toMillis() + "ms"
                + ", body " + maxBodyBytes + " B, header " + maxHeaderBytes + " B"
                + ", idle " + idleTimeout.toSeconds() + "s, header timeout " + headerTimeout.toMillis() + "ms"
                + ", connections " + maxConnections + " (" + maxConnectionsPerClient + " per client)"
                + ", in-flight per client " + maxInFlightPerClient
                + ", subscriptions per WebSocket " + maxSubscriptionsPerConnection + ", subscriber buffer " + subscriberBufferBytes + " B"
                + ", pipelined " + maxPipelined;
    }

    /**
     * Validating builder of {@link GatewayLimits}.
     *
     * <pre>{@code
     * GatewayLimits.builder().maxConnections(500).idleTimeout(Duration.ofMinutes(5)).build();
     * }</pre>
     */
    public static final class Builder {
        private long ratePermits = 2000;
        private Duration ratePeriod = Duration.ofSeconds(1);
        private long rateBurst;
        private int maxInFlight = 1024;
        private Duration requestTimeout = Duration.ofSeconds(10);
        private int maxBodyBytes = 1 << 20;
        private int maxHeaderBytes = 16 << 10;
        private Duration idleTimeout = Duration.ofSeconds(620);
        private Duration headerTimeout = Duration.ofSeconds(10);
        private int maxConnections = 10_000;
        private int maxConnectionsPerClient = 1000;
        private int maxInFlightPerClient = 256;
        private int maxSubscriptionsPerConnection = 100;
        private int subscriberBufferBytes = 4 << 20;
        private Duration keepAliveInterval = Duration.ofSeconds(15);
        private int maxPipelined = 8;

        private Builder() {
        }

        /** {@code permits} per {@code period} per client IP (default 2000 per second); the burst defaults to {@code permits}. */
        public Builder rateLimit(long permits, Duration period) {
            this.ratePermits = atLeast("rate limit permits", permits, 1);
            this.ratePeriod = positive("rate limit period", period);
            return this;
        }

        /** The token bucket's capacity (default: the permits of {@link #rateLimit}). */
        public Builder rateBurst(long burst) {
            this.rateBurst = atLeast("rateBurst", burst, 1);
            return this;
        }

        /** Default 1024. */
        public Builder maxInFlight(int requests) {
            this.maxInFlight = (int) atLeast("maxInFlight", requests, 1);
            return this;
        }

        /** Default 10 s. */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive("requestTimeout", timeout);
            return this;
        }

        /** Default 1 MiB. */
        public Builder maxBodyBytes(int bytes) {
            this.maxBodyBytes = (int) atLeast("maxBodyBytes", bytes, 1);
            return this;
        }

        /** Default 16 KiB; at least 1 KiB. */
        public Builder maxHeaderBytes(int bytes) {
            this.maxHeaderBytes = (int) atLeast("maxHeaderBytes", bytes, 1024);
            return this;
        }

        /** Default 620 s: longer than the load balancers' own (AWS ALB 60 s, GCP 600 s), so they close first. */
        public Builder idleTimeout(Duration timeout) {
            this.idleTimeout = positive("idleTimeout", timeout);
            return this;
        }

        /** Default 10 s: a client that dribbles its headers (slow-loris) is closed after this. */
        public Builder headerTimeout(Duration timeout) {
            this.headerTimeout = positive("headerTimeout", timeout);
            return this;
        }

        /** Default 10000. */
        public Builder maxConnections(int connections) {
            this.maxConnections = (int) atLeast("maxConnections", connections, 1);
            return this;
        }

        /** Default 1000: one client IP cannot take every connection. */
        public Builder maxConnectionsPerClient(int connections) {
            this.maxConnectionsPerClient = (int) atLeast("maxConnectionsPerClient", connections, 1);
            return this;
        }

        /** Default 256: one client IP cannot take every in-flight slot. */
        public Builder maxInFlightPerClient(int requests) {
            this.maxInFlightPerClient = (int) atLeast("maxInFlightPerClient", requests, 1);
            return this;
        }

        /** Default 100. */
        public Builder maxSubscriptionsPerConnection(int subscriptions) {
            this.maxSubscriptionsPerConnection = (int) atLeast("maxSubscriptionsPerConnection", subscriptions, 1);
            return this;
        }

        /** Default 4 MiB; at least 4 KiB. */
        public Builder subscriberBufferBytes(int bytes) {
            this.subscriberBufferBytes = (int) atLeast("subscriberBufferBytes", bytes, 4096);
            return this;
        }

        /** Default 8; see {@link GatewayLimits#maxPipelined()}. */
        public Builder maxPipelined(int requests) {
            this.maxPipelined = (int) atLeast("maxPipelined", requests, 1);
            return this;
        }

        /** Default 15 s. */
        public Builder keepAliveInterval(Duration interval) {
            this.keepAliveInterval = positive("keepAliveInterval", interval);
            return this;
        }

        public GatewayLimits build() {
            return new GatewayLimits(this);
        }

        private static long atLeast(String name, long value, long min) {
            if (value < min) {
                throw new IllegalArgumentException(name + " must be at least " + min + ", was " + value);
            }
            return value;
        }

        private static Duration positive(String name, Duration d) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
            return d;
        }
    }
}
