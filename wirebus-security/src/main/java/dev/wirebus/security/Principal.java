package dev.wirebus.security;

/**
 * Who is on the other end of a connection or an HTTP request, as authenticated: a name the
 * configuration grants permissions to, how it was established, and the permissions its
 * credential carried itself (a JWT's {@code wirebus} claim; none for other mechanisms).
 *
 * <pre>{@code
 * Principal p = new Principal("committer", "token");
 * }</pre>
 *
 * @param name      the principal's name in the access configuration
 * @param mechanism how it was authenticated: "anonymous", "peer" (Unix socket credentials),
 *                  "token", "jwt" or "tls"
 * @param carried   permissions the credential carried, added to those configured for the name
 */
public record Principal(String name, String mechanism, Permissions carried) {
    /** A connection that presented nothing. */
    public static final Principal ANONYMOUS = new Principal("anonymous", "anonymous");

    /** Mechanism of a principal from the Unix socket peer's uid/gid. */
    public static final String PEER = "peer";
    /** Mechanism of a principal from a static token. */
    public static final String TOKEN = "token";
    /** Mechanism of a principal from a signed JWT. */
    public static final String JWT = "jwt";
    /** Mechanism of a principal from a TLS client certificate. */
    public static final String TLS = "tls";

    public Principal {
        if (name == null || name.isEmpty() || mechanism == null) {
            throw new IllegalArgumentException("a principal needs a name and a mechanism");
        }
        if (carried == null) {
            carried = Permissions.NONE;
        }
    }

    /** A principal whose permissions are only those configured for its name. */
    public Principal(String name, String mechanism) {
        this(name, mechanism, Permissions.NONE);
    }

    /** Whether this is the principal of a connection that presented nothing. */
    public boolean isAnonymous() {
        return "anonymous".equals(mechanism);
    }
}
