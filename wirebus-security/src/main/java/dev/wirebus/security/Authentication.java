package dev.wirebus.security;

/**
 * A credential accepted: the principal it stands for and when it stops being valid.
 *
 * @param principal       who the credential authenticates
 * @param expiresAtMillis epoch milliseconds at which it expires; 0 = never (static tokens)
 */
public record Authentication(Principal principal, long expiresAtMillis) {
    public Authentication {
        if (principal == null || expiresAtMillis < 0) {
            throw new IllegalArgumentException("an authentication needs a principal and an expiry >= 0");
        }
    }
}
