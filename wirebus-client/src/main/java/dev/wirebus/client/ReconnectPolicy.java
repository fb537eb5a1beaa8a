package dev.wirebus.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How a client reconnects after a lost connection: exponential backoff with jitter between an
 * initial and a maximum delay, for a number of attempts (unlimited by default), or not at all.
 *
 * <pre>{@code
 * ReconnectPolicy p = ReconnectPolicy.exponential(Duration.ofMillis(50), Duration.ofSeconds(2));
 * ReconnectPolicy once = ReconnectPolicy.never();
 * }</pre>
 */
public final class ReconnectPolicy {
    private final Duration initial;
    private final Duration max;
    private final int maxAttempts;

    private ReconnectPolicy(Duration initial, Duration max, int maxAttempts) {
        this.initial = initial;
        this.max = max;
        this.maxAttempts = maxAttempts;
    }

    /** Unlimited attempts, delays doubling from {@code initial} up to {@code max}, ±20 % jitter. */
    public static ReconnectPolicy exponential(Duration initial, Duration max) {
        if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("need 0 < initial <= max, got " + initial + " and " + max);
        }
        return new ReconnectPolicy(initial, max, Integer.MAX_VALUE);
    }

    /** The default: 20 ms doubling up to 2 s, unlimited attempts. */
    public static ReconnectPolicy defaults() {
        return exponential(Duration.ofMillis(20), Duration.ofSeconds(2));
    }

    /** No reconnect: a lost connection closes the client. */
    public static ReconnectPolicy never() {
        return new ReconnectPolicy(Duration.ZERO, Duration.ZERO, 0);
    }

    /** The same delays, with at most {@code attempts} attempts per outage. */
    public ReconnectPolicy withMaxAttempts(int attempts) {
        if (attempts < 0) {
            throw new IllegalArgumentException("maxAttempts must be >= 0, was " + attempts);
        }
        return new ReconnectPolicy(initial, max, attempts);
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    /** Delay before attempt {@code attempt} (1-based) of one outage. */
    public Duration delay(int attempt) {
        long base = initial.toNanos();
        for (int i = 1; i < attempt && base < max.toNanos(); i++) {
            base *= 2;
        }
        base = Math.min(base, max.toNanos());
        double jitter = 0.8 + 0.4 * ThreadLocalRandom.current().nextDouble();
        return Duration.ofNanos((long) (base * jitter));
    }
}
