package dev.wirebus.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicLong;

/**
 * One log line per denied operation or refused credential, on the logger {@code wirebus.audit},
 * at most {@code linesPerSecond} lines a second; the lines left out are counted and the next line
 * written says how many. Lines name the principal, the operation, the resource and the reason,
 * never a credential.
 *
 * <pre>{@code
 * AuditLog audit = new AuditLog(20);
 * audit.denied(principal, Operation.PUBLISH, "blocks", "tcp 127.0.0.1:53422");
 * }</pre>
 *
 * <p>Thread-safe and lock-free.
 */
public final class AuditLog {
    private static final Logger log = LoggerFactory.getLogger("wirebus.audit");

    private final int linesPerSecond;
    private final AtomicLong window = new AtomicLong();
    private final AtomicLong inWindow = new AtomicLong();
    private final AtomicLong suppressed = new AtomicLong();

    public AuditLog(int linesPerSecond) {
        if (linesPerSecond < 1) {
            throw new IllegalArgumentException("linesPerSecond must be at least 1, was " + linesPerSecond);
        }
        this.linesPerSecond = linesPerSecond;
    }

    /** An operation refused with PERMISSION_DENIED. */
    public void denied(Principal principal, Operation operation, String resource, String peer) {
        if (admit()) {
            log.warn("denied {} on '{}' to '{}' ({}) from {}{}", operation.word(), resource, principal.name(),
                    principal.mechanism(), peer, suppressedNote());
        }
    }

    /** A credential refused with AUTH_FAILED. */
    public void authFailed(AuthenticationException.Reason reason, String peer) {
        if (admit()) {
            log.warn("authentication failed ({}) from {}{}", reason.word(), peer, suppressedNote());
        }
    }

    /** A connection closed because its credential expired. */
    public void expired(Principal principal, String peer) {
        if (admit()) {
            log.info("credential of '{}' expired, connection from {} closed{}", principal.name(), peer,
                    suppressedNote());
        }
    }

    /** A subscription or responder closed because a reload took the permission away. */
    public void revoked(Principal principal, Operation operation, String resource, String peer) {
        if (admit()) {
            log.warn("revoked {} on '{}' from '{}' after a reload, from {}{}", operation.word(), resource,
                    principal.name(), peer, suppressedNote());
        }
    }

    /** Lines left out so far because of the rate limit. */
    public long suppressed() {
        return suppressed.get();
    }

    private boolean admit() {
        long second = System.nanoTime() / 1_000_000_000L;
        long w = window.get();
        if (w != second && window.compareAndSet(w, second)) {
            inWindow.set(0);
        }
        if (inWindow.incrementAndGet() <= linesPerSecond) {
            return true;
        }
        suppressed.incrementAndGet();
        return false;
    }

    private String suppressedNote() {
        long n = suppressed.getAndSet(0);
        return n == 0 ? "" : " (" + n + " earlier audit lines suppressed by the rate limit)";
    }
}
