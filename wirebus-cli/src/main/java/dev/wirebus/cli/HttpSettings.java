package dev.wirebus.cli;

import dev.wirebus.gateway.GatewayLimits;

/**
 * What {@code wirebus serve} starts its HTTP gateway with: where it listens ({@code null} for
 * {@code --http off}) and its limits.
 *
 * <pre>{@code
 * HttpSettings http = settings.toHttpSettings();
 * if (http.listen() != null) { ... Gateway.builder().bind(http.listen().host(), http.listen().port()) ... }
 * }</pre>
 */
record HttpSettings(HostPort listen, GatewayLimits limits) {
    /** The gateway's default port. */
    static final int DEFAULT_PORT = 7480;
}
