package dev.wirebus.cli;

import dev.wirebus.gateway.Gateway;
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

    /** The event loop threads to run: as configured, or {@link Gateway#threadsBesideBroker()}. */
    int effectiveIoThreads() {
        return ioThreads > 0 ? ioThreads : Gateway.threadsBesideBroker();
    }
}
