package dev.wirebus.cli;

import dev.wirebus.gateway.GatewayLimits;

/**
 * What {@code wirebus serve} starts its HTTP gateway with: where it listens ({@code null} for
 * {@code --http off}), its limits and its event loop threads (0: half the cores, at least one).
 *
 * <pre>{@code
 * HttpSettings http = settings.toHttpSettings();
 * if (http.listen() != null) { ... Gateway.builder().bind(http.listen().host(), http.listen().port()) ... }
 * }</pre>
 */
record HttpSettings(HostPort listen, GatewayLimits limits, int ioThreads) {
    /** The gateway's default port. */
    static final int DEFAULT_PORT = 7480;

    /**
     * The event loop threads to run: as configured, or half the cores (at least one). The gateway
     * shares the machine with the broker it runs beside, and on a small machine fewer threads mean
     * fewer thread wake-ups per request, which cost more than the request's own work.
     */
    int effectiveIoThreads() {
        return ioThreads > 0 ? ioThreads : Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }
}
