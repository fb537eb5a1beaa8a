package dev.wirebus.gateway;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * Which web pages may use a {@link Gateway} from a browser, and under which host names it may be
 * reached: the defence against cross-site requests (CSRF), WebSocket hijacking and DNS rebinding.
 *
 * <ul>
 *   <li><b>Origins.</b> A request that carries an {@code Origin} header (every cross-origin request
 *   and WebSocket handshake a browser makes) is served only when the origin is the gateway's own
 *   (the page it serves) or one allowed here; any other is answered {@code 403 ORIGIN_NOT_ALLOWED}
 *   before anything happens: no publish, no WebSocket, no text/plain "simple" POST. Allowed origins
 *   get CORS headers ({@code Access-Control-Allow-Origin}, {@code Vary: Origin}) and preflight
 *   ({@code OPTIONS}) answers. A request without {@code Origin} (curl, a server, a same-origin GET)
 *   is not a browser's cross-site request and is served.</li>
 *   <li><b>Hosts.</b> A gateway bound to a loopback address answers only requests whose
 *   {@code Host} is {@code localhost}, {@code 127.0.0.1}, {@code [::1]} or a name allowed here
 *   ({@code 403 HOST_NOT_ALLOWED} otherwise), so a page whose name was rebound to 127.0.0.1 cannot
 *   reach it. On other addresses the check applies when names are allowed here.</li>
 * </ul>
 *
 * <pre>{@code
 * BrowserAccess access = BrowserAccess.builder()
 *     .allowOrigin("https://chat.example.com")
 *     .allowHost("gateway.internal")
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class BrowserAccess {
    private static final BrowserAccess DEFAULTS = builder().build();

    private final Set<String> origins;
    private final boolean anyOrigin;
    private final Set<String> hosts;

    private BrowserAccess(Builder b) {
        this.origins = Collections.unmodifiableSet(new LinkedHashSet<>(b.origins));
        this.anyOrigin = b.anyOrigin;
        this.hosts = Collections.unmodifiableSet(new LinkedHashSet<>(b.hosts));
    }

    /** Only the gateway's own origin, and on loopback only the loopback names. */
    public static BrowserAccess defaults() {
        return DEFAULTS;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Allowed origins besides the gateway's own, normalized ({@code https://chat.example.com}, no default port). */
    public Set<String> origins() {
        return origins;
    }

    /** True when every origin is allowed ({@code *}): only for a gateway whose every call needs a bearer token. */
    public boolean anyOrigin() {
        return anyOrigin;
    }

    /** Host names allowed besides the loopback ones, lower case, without a port. */
    public Set<String> hosts() {
        return hosts;
    }

    /** Whether {@code normalizedOrigin} (see {@link #normalizeOrigin}) is allowed besides the gateway's own. */
    public boolean allowsOrigin(String normalizedOrigin) {
        return anyOrigin || origins.contains(normalizedOrigin);
    }

    /**
     * {@code scheme://host[:port]} in lower case without the scheme's default port, the form browsers
     * send; null when {@code origin} is not an http(s) origin (e.g. {@code null}).
     */
    public static String normalizeOrigin(String origin) {
        if (origin == null) {
            return null;
        }
        URI u;
        try {
            u = new URI(origin.trim());
        } catch (URISyntaxException e) {
            return null;
        }
        String scheme = u.getScheme() == null ? null : u.getScheme().toLowerCase(Locale.ROOT);
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            return null;
        }
        if (u.getHost() == null || (u.getRawPath() != null && !u.getRawPath().isEmpty() && !"/".equals(u.getRawPath()))
                || u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
            return null;
        }
        int port = u.getPort();
        int defaultPort = "https".equals(scheme) ? 443 : 80;
        String host = u.getHost().toLowerCase(Locale.ROOT);
        return scheme + "://" + host + (port < 0 || port == defaultPort ? "" : ":" + port);
    }

    @Override
    public String toString() {
        return "origins " + (anyOrigin ? "*" : origins.isEmpty() ? "(own only)" : String.join(" ", origins))
                + ", hosts " + (hosts.isEmpty() ? "(loopback names on loopback)" : String.join(" ", hosts));
    }

    /** Validating builder of {@link BrowserAccess}. */
    public static final class Builder {
        private final Set<String> origins = new LinkedHashSet<>();
        private boolean anyOrigin;
        private final Set<String> hosts = new LinkedHashSet<>();

        private Builder() {
        }

        /**
         * Allows pages of {@code origin} ({@code https://chat.example.com}, {@code http://localhost:3000})
         * to call the gateway; {@code *} allows every origin.
         *
         * @throws IllegalArgumentException when it is not {@code *} or an http(s) origin without a path
         */
        public Builder allowOrigin(String origin) {
            Objects.requireNonNull(origin, "origin");
            if ("*".equals(origin.trim())) {
                anyOrigin = true;
                return this;
            }
            String n = normalizeOrigin(origin);
            if (n == null) {
                throw new IllegalArgumentException("'" + origin + "' is not an origin such as https://chat.example.com"
                        + " (scheme, host and port only) or *");
            }
            origins.add(n);
            return this;
        }

        /**
         * Allows requests whose {@code Host} is {@code host} (a name or address, no port), besides the
         * loopback names a loopback gateway always accepts.
         */
        public Builder allowHost(String host) {
            Objects.requireNonNull(host, "host");
            String h = host.trim().toLowerCase(Locale.ROOT);
            if (h.isEmpty() || h.contains("/") || h.contains(" ") || (h.indexOf(':') >= 0 && !h.startsWith("["))) {
                throw new IllegalArgumentException("'" + host + "' is not a host name without a port"
                        + " (IPv6 addresses in brackets: [::1])");
            }
            hosts.add(h);
            return this;
        }

        public BrowserAccess build() {
            return new BrowserAccess(this);
        }
    }
}
