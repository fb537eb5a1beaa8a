package dev.wirebus.gateway.internal;

import dev.wirebus.gateway.BrowserAccess;
import dev.wirebus.gateway.GatewayAuthenticator;
import io.netty.handler.ssl.SslContext;

import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The gateway's settings besides its limits: browser access, authentication, the demo, TLS and the
 * readiness checks {@code /readyz} asks besides the broker connection.
 *
 * @param tls       the TLS context for each new connection (a supplier, so a reloaded certificate
 *                  serves new connections), or null for plain HTTP
 * @param readiness name → healthy, e.g. {@code "store"} → the Redis store is reachable
 */
public record GatewaySetup(BrowserAccess access, GatewayAuthenticator authenticator, boolean demo,
                           Supplier<SslContext> tls, Map<String, BooleanSupplier> readiness) {
    /** The defaults: own origin only, no authentication, the demo on, plain HTTP, no extra readiness check. */
    public static GatewaySetup defaults() {
        return new GatewaySetup(BrowserAccess.defaults(), GatewayAuthenticator.OPEN, true, null, Map.of());
    }
}
