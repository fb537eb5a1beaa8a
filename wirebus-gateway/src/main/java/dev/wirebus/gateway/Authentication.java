package dev.wirebus.gateway;

import dev.wirebus.security.AccessPolicy;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Principal;

import java.util.Objects;

/**
 * A caller of the gateway as a {@link GatewayAuthenticator} established it: its principal, when its
 * credential expires ({@code 0}: never) and the policy its operations are checked against (for a
 * JWT, typically one built from the token's claims).
 *
 * <pre>{@code
 * new Authentication(new Principal("session-42", "jwt"), claims.getExpirationTime().getTime(), policy)
 * }</pre>
 *
 * @param principal       who
 * @param expiresAtMillis epoch milliseconds after which the credential is no longer valid, 0 for never
 * @param policy          what it may do
 */
public record Authentication(Principal principal, long expiresAtMillis, AccessPolicy policy) {
    /** Anonymous, never expiring, allowed everything: the gateway without access control. */
    public static final Authentication OPEN = new Authentication(Principal.ANONYMOUS, 0, AccessPolicy.ALLOW_ALL);

    public Authentication {
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(policy, "policy");
        if (expiresAtMillis < 0) {
            throw new IllegalArgumentException("expiresAtMillis must be 0 (never) or an epoch time, was " + expiresAtMillis);
        }
    }

    /** A caller that presented no credential, checked against {@code policy}. */
    public static Authentication anonymous(AccessPolicy policy) {
        return new Authentication(Principal.ANONYMOUS, 0, policy);
    }

    /** Whether this caller may do {@code operation} on {@code resource}. */
    public boolean allows(Operation operation, String resource) {
        return policy.allows(principal, operation, resource);
    }

    /** Whether the credential has expired at {@code nowMillis}. */
    public boolean expiredAt(long nowMillis) {
        return expiresAtMillis != 0 && nowMillis >= expiresAtMillis;
    }

    /** True for a caller that presented no credential. */
    public boolean anonymous() {
        return Principal.ANONYMOUS.equals(principal);
    }
}
