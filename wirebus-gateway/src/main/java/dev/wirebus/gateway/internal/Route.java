package dev.wirebus.gateway.internal;

import dev.wirebus.security.Operation;
import io.netty.handler.codec.http.HttpMethod;

import java.util.HashMap;
import java.util.Map;

/**
 * A method and a path template such as {@code /v1/streams/{stream}/messages}, the endpoint that
 * serves it and which limits apply to it.
 */
public final class Route {
    /** Which limits apply to a route. */
    public enum Kind {
        /** Waits for the broker: rate limit, in-flight limit, request timeout. */
        BROKER,
        /** Takes the connection over (SSE, WebSocket): rate limit only. */
        STREAMING,
        /** Answered by the gateway itself: rate limit only. */
        LOCAL,
        /** Health checks and metrics: no limit, so a flood cannot blind the load balancer. */
        EXEMPT
    }

    private final HttpMethod method;
    private final String template;
    private final String[] segments;
    /** The parameter name of each segment that is a {@code {parameter}}, null for a literal one. */
    private final String[] paramNames;
    private final Kind kind;
    private final Endpoint endpoint;
    /** The operation a caller must be allowed, or null when the route needs none (health, the page). */
    private final Operation operation;
    /** The path parameter naming the resource of {@link #operation} ({@code stream}, {@code subject}). */
    private final String resourceParam;

    public Route(HttpMethod method, String template, Kind kind, Endpoint endpoint) {
        this(method, template, kind, endpoint, null, null);
    }

    public Route(HttpMethod method, String template, Kind kind, Endpoint endpoint, Operation operation,
                 String resourceParam) {
        this.method = method;
        this.template = template;
        this.segments = template.split("/", -1);
        this.paramNames = new String[segments.length];
        for (int i = 0; i < segments.length; i++) {
            String seg = segments[i];
            if (seg.startsWith("{") && seg.endsWith("}")) {
                paramNames[i] = seg.substring(1, seg.length() - 1);
            }
        }
        this.kind = kind;
        this.endpoint = endpoint;
        this.operation = operation;
        this.resourceParam = resourceParam;
    }

    /**
     * The path parameters when the raw (still percent-encoded) {@code pathSegments} match the
     * template, else null. Each parameter is decoded exactly once.
     *
     * @throws IllegalArgumentException when a parameter is not valid percent-encoding
     */
    Map<String, String> match(String[] pathSegments) {
        if (pathSegments.length != segments.length) {
            return null;
        }
        Map<String, String> params = null;
        for (int i = 0; i < segments.length; i++) {
            String name = paramNames[i];
            if (name != null) {
                String value = decodeSegment(pathSegments[i]);
                if (value.isEmpty()) {
                    return null;
                }
                if (params == null) {
                    params = new HashMap<>(4);
                }
                params.put(name, value);
            } else if (!segments[i].equals(pathSegments[i])) {
                return null;
            }
        }
        return params == null ? Map.of() : params;
    }

    /**
     * Percent-decodes one path segment as UTF-8, once ({@code %2541} is {@code %41}); {@code +} stays
     * {@code +} in a path.
     *
     * @throws IllegalArgumentException on a {@code %} not followed by two hex digits
     */
    static String decodeSegment(String raw) {
        if (raw.indexOf('%') < 0) {
            return raw;
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
                int lo = hi < 0 ? -1 : Character.digit(raw.charAt(i + 2), 16);
                if (lo < 0) {
                    throw new IllegalArgumentException("bad percent-encoding at '" + raw.substring(i,
                            Math.min(raw.length(), i + 3)) + "'");
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                bytes.write(b, 0, b.length);
            }
        }
        return bytes.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    public HttpMethod method() {
        return method;
    }

    /** The template, used as the {@code route} tag of the request metrics. */
    public String template() {
        return template;
    }

    public Kind kind() {
        return kind;
    }

    public Endpoint endpoint() {
        return endpoint;
    }

    /** The operation a caller must be allowed on {@link #resourceParam()}, or null. */
    public Operation operation() {
        return operation;
    }

    /** The path parameter that names the resource of {@link #operation()}; null when it is "*" or there is none. */
    public String resourceParam() {
        return resourceParam;
    }
}
