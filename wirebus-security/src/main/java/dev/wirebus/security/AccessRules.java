package dev.wirebus.security;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@link AccessPolicy} of a configuration: the permissions configured for each principal name,
 * plus the permissions a principal's credential carried ({@link Principal#carried()}, a JWT's
 * claim). A name that is not configured gets only what its credential carried; the anonymous
 * principal gets what is configured for the name {@code anonymous} (nothing by default).
 *
 * <pre>{@code
 * AccessRules rules = AccessRules.of(Map.of(
 *         "observer", Permissions.builder().allow(Operation.READ, "blocks").build()));
 * rules.allows(new Principal("observer", "token"), Operation.READ, "blocks"); // true
 * }</pre>
 *
 * <p>Immutable and thread-safe: a reload builds a new one.
 */
public final class AccessRules implements AccessPolicy {
    private final Map<String, Permissions> byName;

    private AccessRules(Map<String, Permissions> byName) {
        this.byName = byName;
    }

    /** Rules granting each principal name its permissions. */
    public static AccessRules of(Map<String, Permissions> byName) {
        return new AccessRules(Collections.unmodifiableMap(new LinkedHashMap<>(byName)));
    }

    @Override
    public boolean allows(Principal principal, Operation operation, String resource) {
        Permissions configured = byName.get(principal.name());
        return configured != null && configured.allows(operation, resource)
                || principal.carried().allows(operation, resource);
    }

    /** The permissions configured for {@code name} ({@link Permissions#NONE} when it is not configured). */
    public Permissions configured(String name) {
        return byName.getOrDefault(name, Permissions.NONE);
    }

    /** Whether {@code name} is a configured principal. */
    public boolean isConfigured(String name) {
        return byName.containsKey(name);
    }

    /** The configured principal names and their permissions, in configuration order. */
    public Map<String, Permissions> principals() {
        return byName;
    }
}
