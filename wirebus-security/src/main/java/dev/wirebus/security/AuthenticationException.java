package dev.wirebus.security;

/**
 * A credential refused: {@link #reason()} says why, in a way that is safe to tell the client and to
 * log (never the credential itself).
 */
public final class AuthenticationException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Why a credential was refused; each has a stable lower-case word for metrics and audit lines. */
    public enum Reason {
        /** A static token that no principal has, or a JWT when no JWT key is configured. */
        UNKNOWN_CREDENTIAL("unknown-credential"),
        /** A JWT whose signature does not verify with any configured key, or of an algorithm not accepted. */
        BAD_SIGNATURE("bad-signature"),
        /** A JWT past its {@code exp}. */
        EXPIRED("expired"),
        /** A JWT before its {@code nbf}. */
        NOT_YET_VALID("not-yet-valid"),
        /** A JWT whose {@code aud} does not name this broker's audience. */
        WRONG_AUDIENCE("wrong-audience"),
        /** A JWT whose {@code iss} is not the configured issuer. */
        WRONG_ISSUER("wrong-issuer"),
        /** A mechanism other than "bearer". */
        UNSUPPORTED_MECHANISM("unsupported-mechanism"),
        /** Not a token or JWT that can be read: bad encoding, missing {@code sub} or {@code exp}, bad claims. */
        MALFORMED("malformed");

        private final String word;

        Reason(String word) {
            this.word = word;
        }

        /** The word used in metrics tags and audit lines. */
        public String word() {
            return word;
        }
    }

    private final Reason reason;

    public AuthenticationException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
