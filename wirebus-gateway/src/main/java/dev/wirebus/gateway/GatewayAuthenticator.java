package dev.wirebus.gateway;

/**
 * Turns the bearer token of an HTTP request, an SSE stream or a WebSocket into an
 * {@link Authentication}: who is calling, until when, and what it may do. The gateway asks it once
 * per HTTP request and once per WebSocket (again on each {@code auth} message), then asks the
 * authentication before every operation.
 *
 * <pre>{@code
 * GatewayAuthenticator auth = token -> {
 *     if (token == null) return Authentication.anonymous(policy);      // no credential presented
 *     Verified v = verifier.verify(token);                              // throws on a bad token
 *     return new Authentication(v.principal(), v.expiresAtMillis(), policy);
 * };
 * Gateway.builder().client(client).authenticator(auth).build();
 * }</pre>
 *
 * <p>Called on the gateway's event loops: it must not block (verify signatures in memory, keep
 * key sets loaded). Thread-safe.
 */
@FunctionalInterface
public interface GatewayAuthenticator {
    /** Everyone is anonymous and may do everything: a gateway without access control. */
    GatewayAuthenticator OPEN = token -> Authentication.OPEN;

    /**
     * The authentication of {@code bearerToken}, or of a caller that presented none ({@code null}).
     *
     * @throws AuthenticationException when the token is unknown, badly signed, expired, not yet
     *                                 valid or for another audience (answered 401)
     */
    Authentication authenticate(String bearerToken);
}
