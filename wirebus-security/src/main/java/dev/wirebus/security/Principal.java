package dev.wirebus.security;

/**
 * Who is on the other end of a connection or an HTTP request, as authenticated: a name the
 * configuration grants permissions to, and how it was established.
 *
 * <pre>{@code
 * Principal p = new Principal("committer", "token");
 * }</pre>
 *
 * @param name      the principal's name in the access configuration
 * @param mechanism how it was authenticated: "anonymous", "peer" (Unix socket credentials),
 *                  "token", "jwt" or "tls"
 */
public record Principal(String name, String mechanism) {
    /** A connection that presented nothing. */
    public static final Principal ANONYMOUS = new Principal("anonymous", "anonymous");

    public Principal {
        if (name == null || name.isEmpty() || mechanism == null) {
            throw new IllegalArgumentException("a principal needs a name and a mechanism");
        }
    }
}
