package dev.wirebus.gateway.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/**
 * Where a request's bearer token comes from: {@code Authorization: Bearer <token>} always; for the
 * streaming routes a browser opens without headers ({@code EventSource}, {@code WebSocket}) also the
 * WebSocket subprotocol {@code bearer.<token>} (offered beside {@code wirebus.v1}, which is the one
 * the gateway selects, so the token is never echoed) and, last, the {@code token} query parameter.
 * The subprotocol keeps the token out of URLs (and so out of proxies' access logs and the browser
 * history); EventSource has no other way than the query.
 */
final class BearerTokens {
    /** The subprotocol a WebSocket offers besides its token, and the one the gateway selects. */
    static final String WS_PROTOCOL = "wirebus.v1";
    static final String WS_TOKEN_PREFIX = "bearer.";

    private BearerTokens() {
    }

    /**
     * The token, or null when the request presents none.
     *
     * @throws IllegalArgumentException for an Authorization of another scheme or an empty token
     */
    static String of(HttpRequest request, String queryToken, boolean streaming) {
        String authorization = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        if (authorization != null) {
            String a = authorization.trim();
            if (a.length() < 7 || !a.regionMatches(true, 0, "Bearer ", 0, 7)) {
                throw new IllegalArgumentException("Authorization must be 'Bearer <token>'");
            }
            String token = a.substring(7).trim();
            if (token.isEmpty()) {
                throw new IllegalArgumentException("Authorization: Bearer has no token");
            }
            return token;
        }
        if (!streaming) {
            return null;
        }
        String protocols = request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL);
        if (protocols != null) {
            for (String p : protocols.split(",")) {
                String t = p.trim();
                if (t.startsWith(WS_TOKEN_PREFIX) && t.length() > WS_TOKEN_PREFIX.length()) {
                    return t.substring(WS_TOKEN_PREFIX.length());
                }
            }
        }
        if (queryToken != null) {
            if (queryToken.isEmpty()) {
                throw new IllegalArgumentException("the token query parameter is empty");
            }
            return queryToken;
        }
        return null;
    }
}
