package dev.wirebus.gateway;

import dev.wirebus.security.AccessPolicy;
import dev.wirebus.security.Authentication;
import dev.wirebus.security.AuthenticationException;
import dev.wirebus.security.Authenticator;
import dev.wirebus.security.Principal;
import dev.wirebus.security.SecurityConfig;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Who calls the gateway and what it may do: turns the bearer token of an HTTP request, an SSE
 * stream or a WebSocket into an {@link Authentication}, and gives the {@link AccessPolicy} every
 * operation is checked against. The gateway authenticates once per HTTP request and once per
 * WebSocket (again on each {@code auth} message), and asks the policy before every publish, read,
 * request and admin call — the broker sees only the gateway's own connection, so the gateway is
 * where a browser's permissions are enforced.
 *
 * <pre>{@code
 * // the broker's [security] configuration, re-read on reload: tokens, JWTs (claims carry permissions), rules
 * Gateway.builder().client(client).authenticator(GatewayAuthenticator.of(security::current)).build();
 * }</pre>
 *
 * <p>Called on the gateway's event loops: it must not block. Thread-safe.
 */
public interface GatewayAuthenticator {
    /** Everyone anonymous, everything allowed: a gateway without access control. */
    GatewayAuthenticator OPEN = new GatewayAuthenticator() {
        @Override
        public Authentication authenticate(String bearerToken) {
            return ANONYMOUS;
        }

        @Override
        public AccessPolicy policy() {
            return AccessPolicy.ALLOW_ALL;
        }
    };

    /** The authentication of a caller that presented no credential. */
    Authentication ANONYMOUS = new Authentication(Principal.ANONYMOUS, 0);

    /**
     * The authentication of {@code bearerToken}, or {@link #ANONYMOUS} for a caller that presented
     * none ({@code null}).
     *
     * @throws AuthenticationException when the token is unknown, badly signed, expired, not yet
     *                                 valid or for another audience (answered 401)
     */
    Authentication authenticate(String bearerToken) throws AuthenticationException;

    /** What each principal may do (asked before every operation; may change between calls on a reload). */
    AccessPolicy policy();

    /**
     * The gateway side of a broker's access configuration: static tokens and JWTs through its
     * {@link Authenticator}, operations through its {@link SecurityConfig#policy()} (a JWT's
     * permission claim included). {@code config} is asked on every call, so a reloaded configuration
     * applies to the next request and the next WebSocket operation. With the configuration disabled
     * everyone is anonymous and a token is ignored.
     */
    static GatewayAuthenticator of(Supplier<SecurityConfig> config) {
        Objects.requireNonNull(config, "config");
        return new GatewayAuthenticator() {
            @Override
            public Authentication authenticate(String bearerToken) throws AuthenticationException {
                SecurityConfig c = config.get();
                if (bearerToken == null || !c.enabled()) {
                    return ANONYMOUS;
                }
                return c.authenticator().authenticate(Authenticator.BEARER, bearerToken.getBytes(StandardCharsets.UTF_8));
            }

            @Override
            public AccessPolicy policy() {
                return config.get().policy();
            }
        };
    }
}
