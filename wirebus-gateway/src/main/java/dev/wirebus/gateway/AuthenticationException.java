package dev.wirebus.gateway;

/**
 * A bearer token was refused: unknown, badly signed, expired, not yet valid, for another audience.
 * The gateway answers {@code 401 AUTH_FAILED} with the message, which must not contain the token.
 *
 * <pre>{@code
 * throw new AuthenticationException("the token expired at 2026-12-03T08:00:00Z");
 * }</pre>
 */
public class AuthenticationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public AuthenticationException(String message) {
        super(message);
    }

    public AuthenticationException(String message, Throwable cause) {
        super(message, cause);
    }
}
