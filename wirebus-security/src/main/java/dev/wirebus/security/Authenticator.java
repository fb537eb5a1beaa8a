package dev.wirebus.security;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Checks the credential of an AUTH frame or an {@code Authorization: Bearer} header: mechanism
 * {@code bearer}, the credential a static token (looked up by its SHA-256 hash) or a signed JWT
 * (when a JWT key is configured). The credential is never logged nor put in a message.
 *
 * <pre>{@code
 * Authentication a = config.authenticator().authenticate("bearer", tokenBytes);
 * }</pre>
 *
 * <p>Immutable and thread-safe.
 */
public final class Authenticator {
    /** The one mechanism defined: a static token or a JWT. */
    public static final String BEARER = "bearer";

    private final Map<String, String> principalByTokenHash;
    private final JwtVerifier jwt;

    /**
     * @param principalByTokenHash principal names by stored token hash ({@link TokenHash#canonical})
     * @param jwt                  the JWT verifier, or null when JWTs are not accepted
     */
    public Authenticator(Map<String, String> principalByTokenHash, JwtVerifier jwt) {
        this.principalByTokenHash = Map.copyOf(principalByTokenHash);
        this.jwt = jwt;
    }

    /** Whether any credential at all can succeed. */
    public boolean acceptsAny() {
        return !principalByTokenHash.isEmpty() || jwt != null;
    }

    /**
     * The authentication {@code credential} stands for.
     *
     * @throws AuthenticationException why it is refused
     */
    public Authentication authenticate(String mechanism, byte[] credential) throws AuthenticationException {
        if (!BEARER.equals(mechanism)) {
            throw new AuthenticationException(AuthenticationException.Reason.UNSUPPORTED_MECHANISM,
                    "unsupported mechanism '" + mechanism + "' (only \"bearer\" is defined)");
        }
        String name = principalByTokenHash.get(TokenHash.of(credential));
        if (name != null) {
            return new Authentication(new Principal(name, Principal.TOKEN), 0);
        }
        String text = new String(credential, StandardCharsets.UTF_8);
        if (jwt != null && JwtVerifier.looksLikeJwt(text)) {
            return jwt.verify(text);
        }
        throw new AuthenticationException(AuthenticationException.Reason.UNKNOWN_CREDENTIAL,
                "credential not recognised");
    }
}
