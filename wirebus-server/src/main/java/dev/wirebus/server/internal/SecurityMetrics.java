package dev.wirebus.server.internal;

import dev.wirebus.security.AuthenticationException;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Principal;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counters of access control: {@code wirebus_access_denied_total{principal, operation, reason}}
 * (reason {@code permission} for an operation refused, {@code revoked} for a subscription or
 * responder closed by a reload), {@code wirebus_auth_failures_total{reason}},
 * {@code wirebus_auth_expired_total} and {@code wirebus_auth_succeeded_total{mechanism}}. The
 * principal tag is the configured principal's name, {@code anonymous}, or, for a principal not in
 * the configuration (a JWT subject minted per browser session), {@code other-jwt}/
 * {@code other-token}: the tag stays bounded whatever tokens are minted.
 *
 * <p>Thread-safe. The meters are removed from the registry by {@link #close()}.
 */
public final class SecurityMetrics {
    private final MeterRegistry registry;
    private final List<Meter> meters = java.util.Collections.synchronizedList(new ArrayList<>());
    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();

    public SecurityMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** The principal tag of a principal: its name when configured, else a bounded stand-in. */
    static String tag(Principal p, java.util.function.Predicate<String> configured) {
        if (p.isAnonymous() || configured.test(p.name())) {
            return p.name();
        }
        return "other-" + p.mechanism();
    }

    void denied(String principalTag, Operation operation, String reason) {
        counter("d|" + principalTag + "|" + operation + "|" + reason, () -> Counter.builder("wirebus.access.denied")
                .description("Operations refused with PERMISSION_DENIED, and subscriptions or responders revoked by a"
                        + " reload")
                .tag("principal", principalTag).tag("operation", operation.word()).tag("reason", reason))
                .increment();
    }

    void authFailed(AuthenticationException.Reason reason) {
        counter("f|" + reason, () -> Counter.builder("wirebus.auth.failures")
                .description("AUTH frames refused with AUTH_FAILED, by reason").tag("reason", reason.word()))
                .increment();
    }

    void authSucceeded(String mechanism) {
        counter("s|" + mechanism, () -> Counter.builder("wirebus.auth.succeeded")
                .description("AUTH frames accepted, by mechanism").tag("mechanism", mechanism))
                .increment();
    }

    void expired() {
        counter("e", () -> Counter.builder("wirebus.auth.expired")
                .description("Connections closed with AUTH_EXPIRED")).increment();
    }

    void reloaded(boolean ok) {
        counter("r|" + ok, () -> Counter.builder("wirebus.security.reloads")
                .description("Reloads of the access configuration, by result").tag("result", ok ? "ok" : "failed"))
                .increment();
    }

    private Counter counter(String key, java.util.function.Supplier<Counter.Builder> builder) {
        Counter c = counters.get(key);
        if (c == null) {
            c = counters.computeIfAbsent(key, k -> {
                Counter made = builder.get().register(registry);
                meters.add(made);
                return made;
            });
        }
        return c;
    }

    /** Removes the meters from the registry. */
    public void close() {
        synchronized (meters) {
            for (Meter m : meters) {
                registry.remove(m);
            }
            meters.clear();
        }
        counters.clear();
    }
}
