package dev.wirebus.gateway.internal;

import dev.wirebus.gateway.BrowserAccess;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.StringJoiner;

/**
 * The browser checks of every request, before routing: the {@code Host} (DNS rebinding), the
 * {@code Origin} (cross-site requests, WebSocket hijacking), preflights, and the CORS headers of
 * answers to allowed origins. See {@link BrowserAccess}. Immutable; thread-safe.
 */
public final class RequestGuard {
    /** The names a loopback gateway always answers to. */
    static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "[::1]");
    /** Request headers a page of an allowed origin may send (besides the CORS-safelisted ones). */
    static final String ALLOWED_HEADERS = "authorization, content-type, last-event-id, wirebus-expected-sequence, "
            + "wirebus-producer-id, wirebus-producer-sequence, wirebus-timeout";
    static final String EXPOSED_HEADERS = "retry-after, www-authenticate";
    /** Seconds a browser may keep a preflight's answer. */
    static final int PREFLIGHT_MAX_AGE = 600;

    /** How a request's {@code Origin} relates to the gateway. */
    public enum OriginKind {
        /** No {@code Origin} header: not a browser's cross-origin request. */
        NONE,
        /** The gateway's own origin (its page). */
        SAME,
        /** Another origin, allowed: gets CORS headers. */
        ALLOWED,
        /** Another origin, not allowed (or an opaque one such as {@code null}): refused. */
        FOREIGN
    }

    private final BrowserAccess access;
    private final boolean loopback;
    private final boolean tls;

    /**
     * @param loopback the gateway listens on a loopback address: only loopback names (and the allowed
     *                 hosts) may be in {@code Host}
     * @param tls      the gateway speaks HTTPS: its own origin is {@code https://Host}
     */
    public RequestGuard(BrowserAccess access, boolean loopback, boolean tls) {
        this.access = access;
        this.loopback = loopback;
        this.tls = tls;
    }

    /** {@code 403 HOST_NOT_ALLOWED} when the request's {@code Host} may not reach this gateway, else null. */
    public GatewayError checkHost(HttpRequest request) {
        if (!loopback && access.hosts().isEmpty()) {
            return null;
        }
        String host = request.headers().get(HttpHeaderNames.HOST);
        if (host == null) {
            return null; // HTTP/1.0 without Host: not a browser (browsers always send it), so not a rebinding
        }
        String name = hostName(host);
        if (name != null && (access.hosts().contains(name) || (loopback && LOOPBACK_NAMES.contains(name)))) {
            return null;
        }
        return GatewayError.of(HttpResponseStatus.FORBIDDEN, GatewayError.HOST_NOT_ALLOWED,
                "Host '" + host + "'" + " is not served here: "
                        + (loopback ? "a loopback gateway answers localhost, 127.0.0.1, [::1]" : "this gateway answers")
                        + (access.hosts().isEmpty() ? "" : (loopback ? " and " : " ") + String.join(", ", access.hosts()))
                        + " (allow more with [http] allowed-hosts)");
    }

    /** The host of a {@code Host} header in lower case without its port; null when malformed. */
    static String hostName(String host) {
        if (host == null) {
            return null;
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? null : h.substring(0, end + 1);
        }
        int colon = h.indexOf(':');
        h = colon >= 0 ? h.substring(0, colon) : h;
        return h.isEmpty() ? null : h;
    }

    /** How the request's {@code Origin} relates to this gateway. */
    public OriginKind classify(HttpRequest request) {
        String origin = request.headers().get(HttpHeaderNames.ORIGIN);
        if (origin == null) {
            return OriginKind.NONE;
        }
        String normalized = BrowserAccess.normalizeOrigin(origin);
        if (normalized == null) {
            return access.anyOrigin() ? OriginKind.ALLOWED : OriginKind.FOREIGN; // e.g. "null": a sandboxed page
        }
        String host = request.headers().get(HttpHeaderNames.HOST);
        if (host != null && normalized.equals(BrowserAccess.normalizeOrigin((tls ? "https://" : "http://") + host.trim()))) {
            return OriginKind.SAME;
        }
        return access.allowsOrigin(normalized) ? OriginKind.ALLOWED : OriginKind.FOREIGN;
    }

    /** The {@code 403 ORIGIN_NOT_ALLOWED} of a request from a foreign origin. */
    public static GatewayError foreignOrigin(HttpRequest request) {
        return GatewayError.of(HttpResponseStatus.FORBIDDEN, GatewayError.ORIGIN_NOT_ALLOWED,
                "pages of origin '" + request.headers().get(HttpHeaderNames.ORIGIN) + "' may not use this gateway"
                        + " (allow it with [http] allowed-origins)");
    }

    /**
     * The answer to {@code OPTIONS} on a path with {@code methods}: a preflight of an allowed
     * origin gets {@code 204} with the CORS headers, a plain {@code OPTIONS} gets {@code 204} with
     * {@code Allow}. (A foreign origin was refused before.)
     */
    public FullHttpResponse options(HttpRequest request, List<HttpMethod> methods, OriginKind origin) {
        FullHttpResponse r = Responses.bytes(HttpResponseStatus.NO_CONTENT, new byte[0], "text/plain");
        r.headers().remove(HttpHeaderNames.CONTENT_TYPE);
        StringJoiner allow = new StringJoiner(", ");
        for (HttpMethod m : methods) {
            allow.add(m.name());
        }
        allow.add("OPTIONS");
        HttpHeaders h = r.headers();
        h.set(HttpHeaderNames.ALLOW, allow.toString());
        String requestedMethod = request.headers().get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
        if (origin == OriginKind.ALLOWED && requestedMethod != null) {
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, request.headers().get(HttpHeaderNames.ORIGIN));
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, allow.toString());
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS);
            h.set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE);
        }
        h.set(HttpHeaderNames.VARY, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        return r;
    }

    /** Adds the CORS headers of an answer to an allowed origin. */
    public static void cors(HttpHeaders headers, String origin) {
        headers.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED_HEADERS);
        headers.set(HttpHeaderNames.VARY, "Origin");
    }
}
