package dev.wirebus.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Static tokens are stored in configuration as SHA-256 hashes, never in clear: {@code sha256:} and
 * 64 lower-case hex digits (the prefix may be left out). {@code wirebus token hash} prints the hash
 * of a token; {@code printf %s "$TOKEN" | sha256sum} gives the same digits.
 *
 * <pre>{@code
 * String stored = TokenHash.of("s3cret-token"); // "sha256:…"
 * }</pre>
 */
public final class TokenHash {
    /** The prefix of a stored hash. */
    public static final String PREFIX = "sha256:";

    private TokenHash() {
    }

    /** The stored form of {@code token}: {@code sha256:} and its hash in hex. */
    public static String of(String token) {
        return of(token.getBytes(StandardCharsets.UTF_8));
    }

    /** The stored form of the token bytes. */
    public static String of(byte[] token) {
        return PREFIX + hex(token);
    }

    /** The hash in hex of the token bytes. */
    static String hex(byte[] token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * A stored hash in its canonical form ({@code sha256:} + lower-case hex).
     *
     * @throws IllegalArgumentException when it is not 64 hex digits, with or without the prefix; the
     *                                  message never repeats the value (it might be a token pasted by mistake)
     */
    public static String canonical(String stored) {
        String s = stored.strip();
        if (s.startsWith(PREFIX)) {
            s = s.substring(PREFIX.length());
        }
        if (s.length() != 64 || !s.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IllegalArgumentException("a token hash must be sha256: and 64 hex digits (a value of "
                    + stored.length() + " characters is not; tokens are never written in clear)");
        }
        return PREFIX + s.toLowerCase(Locale.ROOT);
    }
}
