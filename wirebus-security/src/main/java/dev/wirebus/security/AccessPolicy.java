package dev.wirebus.security;

/**
 * Decides whether a principal may carry out an operation on a resource. The broker asks it before
 * every operation a frame asks for; the gateway before every HTTP or WebSocket operation.
 *
 * <pre>{@code
 * AccessPolicy policy = AccessPolicy.ALLOW_ALL;
 * boolean ok = policy.allows(Principal.ANONYMOUS, Operation.READ, "chat.session-1");
 * }</pre>
 */
@FunctionalInterface
public interface AccessPolicy {
    /** Everything allowed: the policy of a broker with access control off. */
    AccessPolicy ALLOW_ALL = (principal, operation, resource) -> true;

    /** Whether {@code principal} may do {@code operation} on {@code resource}. */
    boolean allows(Principal principal, Operation operation, String resource);
}
