package dev.wirebus.security;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Maps the peer of a Unix socket connection (its uid and gids from {@code SO_PEERCRED}) to a
 * principal: by user name (or uid, written as digits) first, then by group name (or gid) in the
 * order the configuration lists them; the groups are the peer's gid, any further gids the
 * kernel reports, and the groups {@code /etc/group} lists the user in. A peer that matches
 * nothing is {@link Principal#ANONYMOUS}.
 *
 * <pre>{@code
 * UnixPeerMapping m = UnixPeerMapping.builder(UnixAccounts.system()).user("consensus", "committer").build();
 * Principal p = m.principalFor(1001, new int[] {1001});
 * }</pre>
 */
public final class UnixPeerMapping {
    /** No mapping: every peer is anonymous. */
    public static final UnixPeerMapping NONE = new UnixPeerMapping(null, Map.of(), Map.of());

    private final UnixAccounts accounts;
    private final Map<String, String> users;
    private final Map<String, String> groups;

    private UnixPeerMapping(UnixAccounts accounts, Map<String, String> users, Map<String, String> groups) {
        this.accounts = accounts;
        this.users = users;
        this.groups = groups;
    }

    public static Builder builder(UnixAccounts accounts) {
        return new Builder(accounts);
    }

    /** Whether any user or group is mapped. */
    public boolean isEmpty() {
        return users.isEmpty() && groups.isEmpty();
    }

    /** The principal of a peer with this uid and these gids (the first is its primary gid). */
    public Principal principalFor(int uid, int[] gids) {
        if (isEmpty()) {
            return Principal.ANONYMOUS;
        }
        String user = accounts.userName(uid);
        String byUser = user == null ? null : users.get(user);
        if (byUser == null) {
            byUser = users.get(Integer.toString(uid));
        }
        if (byUser != null) {
            return new Principal(byUser, Principal.PEER);
        }
        if (groups.isEmpty()) {
            return Principal.ANONYMOUS;
        }
        Set<String> peerGroups = new LinkedHashSet<>();
        for (int gid : gids) {
            peerGroups.add(Integer.toString(gid));
            String name = accounts.groupName(gid);
            if (name != null) {
                peerGroups.add(name);
            }
        }
        if (user != null) {
            peerGroups.addAll(accounts.supplementaryGroups(user));
        }
        for (Map.Entry<String, String> g : groups.entrySet()) {
            if (peerGroups.contains(g.getKey())) {
                return new Principal(g.getValue(), Principal.PEER);
            }
        }
        return Principal.ANONYMOUS;
    }

    /** Collects user and group mappings. */
    public static final class Builder {
        private final UnixAccounts accounts;
        private final Map<String, String> users = new LinkedHashMap<>();
        private final Map<String, String> groups = new LinkedHashMap<>();

        private Builder(UnixAccounts accounts) {
            this.accounts = accounts;
        }

        /** Peers running as {@code user} (a name, or a uid in digits) are {@code principal}. */
        public Builder user(String user, String principal) {
            String previous = users.putIfAbsent(user, principal);
            if (previous != null && !previous.equals(principal)) {
                throw new IllegalArgumentException("unix user '" + user + "' is mapped to both '" + previous
                        + "' and '" + principal + "'");
            }
            return this;
        }

        /** Peers in {@code group} (a name, or a gid in digits) are {@code principal} unless their user is mapped. */
        public Builder group(String group, String principal) {
            String previous = groups.putIfAbsent(group, principal);
            if (previous != null && !previous.equals(principal)) {
                throw new IllegalArgumentException("unix group '" + group + "' is mapped to both '" + previous
                        + "' and '" + principal + "'");
            }
            return this;
        }

        public UnixPeerMapping build() {
            return users.isEmpty() && groups.isEmpty() ? NONE
                    : new UnixPeerMapping(accounts, Map.copyOf(users), new LinkedHashMap<>(groups));
        }
    }
}
