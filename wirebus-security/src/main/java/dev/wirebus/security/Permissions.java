package dev.wirebus.security;

import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one principal may do: for each {@link Operation}, the {@link ResourcePattern}s of the
 * streams, subjects or consumer names it may do it on. Nothing is allowed that no pattern allows.
 *
 * <pre>{@code
 * Permissions committer = Permissions.builder()
 *         .allow(Operation.PUBLISH, "blocks")
 *         .allow(Operation.RESPOND, "state.*")
 *         .build();
 * committer.allows(Operation.RESPOND, "state.epoch"); // true
 * }</pre>
 *
 * <p>Immutable and thread-safe. A check of a name that a pattern spells literally is one hash
 * look-up; wildcard patterns are tried one after the other.
 */
public final class Permissions {
    /** Nothing allowed. */
    public static final Permissions NONE = new Permissions(new EnumMap<>(Operation.class));

    /** Most wildcard verdicts cached per operation (names are at most 200 bytes: at most about 1 MiB). */
    static final int MAX_CACHED = 4096;

    private final Map<Operation, Grant> grants;

    private Permissions(Map<Operation, Grant> grants) {
        this.grants = grants;
    }

    /** A builder of permissions. */
    public static Builder builder() {
        return new Builder();
    }

    /** Whether {@code operation} on {@code resource} is allowed. */
    public boolean allows(Operation operation, String resource) {
        Grant g = grants.get(operation);
        return g != null && g.allows(resource);
    }

    /** The patterns allowed for {@code operation}, as written, in order. */
    public List<String> patterns(Operation operation) {
        Grant g = grants.get(operation);
        if (g == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (ResourcePattern p : g.all) {
            out.add(p.toString());
        }
        return out;
    }

    /** Whether nothing at all is allowed. */
    public boolean isEmpty() {
        return grants.isEmpty();
    }

    /** Permissions allowing what either of these allows. */
    public Permissions union(Permissions other) {
        if (other.isEmpty()) {
            return this;
        }
        if (isEmpty()) {
            return other;
        }
        Builder b = builder();
        for (Operation op : Operation.values()) {
            b.allow(op, patterns(op));
            b.allow(op, other.patterns(op));
        }
        return b.build();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<Operation, Grant> e : grants.entrySet()) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(e.getKey().word()).append('=').append(patterns(e.getKey()));
        }
        return sb.append('}').toString();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Permissions p)) {
            return false;
        }
        for (Operation op : Operation.values()) {
            if (!new HashSet<>(patterns(op)).equals(new HashSet<>(p.patterns(op)))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = 0;
        for (Operation op : Operation.values()) {
            h += op.hashCode() ^ new HashSet<>(patterns(op)).hashCode();
        }
        return h;
    }

    /** The patterns of one operation: literal names in a set, wildcards in a list. */
    private static final class Grant {
        final Set<String> literals = new HashSet<>();
        final List<ResourcePattern> wildcards = new ArrayList<>();
        final List<ResourcePattern> all = new ArrayList<>();

        void add(ResourcePattern p) {
            if (all.contains(p)) {
                return;
            }
            all.add(p);
            if (p.isLiteral()) {
                literals.add(p.toString());
            } else {
                wildcards.add(p);
            }
        }

        /** Wildcard verdicts of names seen, so a hot stream costs one look-up; bounded by MAX_CACHED. */
        final java.util.concurrent.ConcurrentHashMap<String, Boolean> verdicts = new java.util.concurrent.ConcurrentHashMap<>();

        boolean allows(String resource) {
            if (resource == null) {
                return false;
            }
            if (literals.contains(resource)) {
                return true;
            }
            if (wildcards.isEmpty()) {
                return false;
            }
            Boolean known = verdicts.get(resource);
            if (known != null) {
                return known;
            }
            boolean allowed = false;
            for (int i = 0; i < wildcards.size() && !allowed; i++) {
                allowed = wildcards.get(i).matches(resource);
            }
            if (verdicts.size() < MAX_CACHED) {
                verdicts.put(resource, allowed);
            }
            return allowed;
        }
    }

    /** Collects patterns per operation; each pattern is checked as it is added. */
    public static final class Builder {
        private final Map<Operation, List<ResourcePattern>> patterns = new EnumMap<>(Operation.class);

        private Builder() {
        }

        /**
         * Allows {@code operation} on names matching each of {@code patterns}.
         *
         * @throws IllegalArgumentException when a pattern is not valid ({@link ResourcePattern#parse})
         */
        public Builder allow(Operation operation, String... patterns) {
            return allow(operation, List.of(patterns));
        }

        /** Allows {@code operation} on names matching each of {@code patterns}. */
        public Builder allow(Operation operation, Collection<String> patterns) {
            for (String p : patterns) {
                this.patterns.computeIfAbsent(operation, o -> new ArrayList<>()).add(ResourcePattern.parse(p));
            }
            return this;
        }

        public Permissions build() {
            Map<Operation, Grant> grants = new EnumMap<>(Operation.class);
            patterns.forEach((op, list) -> {
                if (!list.isEmpty()) {
                    Grant g = new Grant();
                    list.forEach(g::add);
                    grants.put(op, g);
                }
            });
            return grants.isEmpty() ? NONE : new Permissions(grants);
        }
    }
}
