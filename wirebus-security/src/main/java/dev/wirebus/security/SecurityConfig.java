package dev.wirebus.security;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The access configuration of a broker (and of a gateway): who the principals are, how each
 * authenticates (static token hashes, JWTs, Unix users and groups, TLS client certificate
 * subjects), what each may do, and the TLS files of the TCP listener. Read from the
 * {@code [security]} table of the config file by {@link #fromTable}; {@link #DISABLED} (everything
 * allowed to everyone) when there is no such table.
 *
 * <pre>{@code
 * [security]
 * [security.jwt]
 * audience = "wirebus"
 * key-file = "keys/jwt-public.pem"
 * [security.principals.committer]
 * tokens = ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
 * unix-users = ["consensus"]
 * publish = ["blocks"]
 * respond = ["state.*"]
 * }</pre>
 *
 * <p>Immutable and thread-safe; a reload reads a new one.
 */
public final class SecurityConfig {
    /** Access control off: everyone anonymous, everything allowed. */
    public static final SecurityConfig DISABLED = new SecurityConfig(false, false, AccessPolicy.ALLOW_ALL,
            AccessRules.of(Map.of()), new Authenticator(Map.of(), null), UnixPeerMapping.NONE, TlsPeerMapping.NONE,
            null, null, List.of(), 20);

    private final boolean enabled;
    private final boolean allowAnonymous;
    private final AccessPolicy policy;
    private final AccessRules rules;
    private final Authenticator authenticator;
    private final UnixPeerMapping unixPeers;
    private final TlsPeerMapping tlsPeers;
    private final TlsFiles tls;
    private final String socketGroup;
    private final List<Path> files;
    private final int auditLinesPerSecond;

    private SecurityConfig(boolean enabled, boolean allowAnonymous, AccessPolicy policy, AccessRules rules,
                           Authenticator authenticator, UnixPeerMapping unixPeers, TlsPeerMapping tlsPeers,
                           TlsFiles tls, String socketGroup, List<Path> files, int auditLinesPerSecond) {
        this.enabled = enabled;
        this.allowAnonymous = allowAnonymous;
        this.policy = policy;
        this.rules = rules;
        this.authenticator = authenticator;
        this.unixPeers = unixPeers;
        this.tlsPeers = tlsPeers;
        this.tls = tls;
        this.socketGroup = socketGroup;
        this.files = files;
        this.auditLinesPerSecond = auditLinesPerSecond;
    }

    /** Whether access control is on (a {@code [security]} table was given). */
    public boolean enabled() {
        return enabled;
    }

    /**
     * Whether a listener on a non-loopback address may run without any authentication
     * ({@code allow-anonymous = true} or {@code --insecure}).
     */
    public boolean allowAnonymous() {
        return allowAnonymous;
    }

    /** The policy: {@link AccessPolicy#ALLOW_ALL} when disabled, else the {@link #rules()}. */
    public AccessPolicy policy() {
        return policy;
    }

    /** The configured principals and their permissions. */
    public AccessRules rules() {
        return rules;
    }

    /** Checks AUTH credentials. */
    public Authenticator authenticator() {
        return authenticator;
    }

    /** Principals of Unix socket peers. */
    public UnixPeerMapping unixPeers() {
        return unixPeers;
    }

    /** Principals of TLS client certificates. */
    public TlsPeerMapping tlsPeers() {
        return tlsPeers;
    }

    /** The TCP listener's TLS files, or null for plain TCP. */
    public TlsFiles tls() {
        return tls;
    }

    /** The group the Unix socket file is given to (with mode rw-rw----), or null. */
    public String socketGroup() {
        return socketGroup;
    }

    /** The files this configuration was read from, to watch for changes (the config file, key files). */
    public List<Path> files() {
        return files;
    }

    /** Most audit lines a second. */
    public int auditLinesPerSecond() {
        return auditLinesPerSecond;
    }

    /**
     * Whether a client on the network can authenticate at all: tokens or JWTs, or client
     * certificates mapped to principals. Without any, a non-loopback listener refuses to start
     * unless {@link #allowAnonymous()}.
     */
    public boolean hasNetworkAuthentication() {
        return enabled && (authenticator.acceptsAny() || tls != null && tls.clientCa() != null && !tlsPeers.isEmpty());
    }

    /** The same configuration with {@code allow-anonymous} forced on (the {@code --insecure} flag). */
    public SecurityConfig withAllowAnonymous() {
        return new SecurityConfig(enabled, true, policy, rules, authenticator, unixPeers, tlsPeers, tls, socketGroup,
                files, auditLinesPerSecond);
    }

    /** A configuration of these rules and authenticator, enforced, nothing else (tests, embedders). */
    public static SecurityConfig of(AccessRules rules, Authenticator authenticator) {
        return new SecurityConfig(true, false, rules, rules, authenticator, UnixPeerMapping.NONE, TlsPeerMapping.NONE,
                null, null, List.of(), 20);
    }

    // ------------------------------------------------------------------ reading the [security] table

    /** Keys of {@code [security]} itself. */
    public static final List<String> KEYS = List.of("allow-anonymous", "socket-group", "audit-lines-per-second",
            "jwt", "tls", "principals");
    /** Keys of {@code [security.jwt]}. */
    public static final List<String> JWT_KEYS = List.of("audience", "issuer", "key-file", "secret-file", "clock-skew");
    /** Keys of {@code [security.tls]}. */
    public static final List<String> TLS_KEYS = List.of("cert", "key", "client-ca", "require-client-cert");
    /** Keys of one {@code [security.principals.NAME]} table besides the operation words. */
    public static final List<String> CREDENTIAL_KEYS = List.of("tokens", "unix-users", "unix-groups", "tls-subjects");

    /**
     * The configuration in a {@code [security]} table, given as plain values (maps, lists,
     * strings, booleans, numbers) as a TOML or JSON reader produces them.
     *
     * @param table   the table's contents
     * @param baseDir the directory relative file names are resolved against
     * @param where   how to name the table in messages, e.g. {@code wirebus.toml: [security]}
     * @param configFile the file the table is in, watched for changes with the key files; may be null
     * @param accounts   Unix accounts for user and group names
     * @param clock      epoch milliseconds, for JWT expiry
     * @throws IllegalArgumentException one line naming the key and what is wrong with it
     */
    public static SecurityConfig fromTable(Map<String, ?> table, Path baseDir, String where, Path configFile,
                                           UnixAccounts accounts, LongSupplier clock) {
        Reader r = new Reader(where, baseDir);
        r.onlyKeys(table, KEYS, "");
        boolean allowAnonymous = r.bool(table, "allow-anonymous", "", false);
        String socketGroup = r.string(table, "socket-group", "", null);
        int auditRate = (int) r.number(table, "audit-lines-per-second", "", 20);
        if (auditRate < 1) {
            throw r.problem("", "audit-lines-per-second", "must be at least 1, was " + auditRate);
        }
        List<Path> files = new ArrayList<>();
        if (configFile != null) {
            files.add(configFile);
        }

        JwtVerifier jwt = null;
        Map<String, ?> jwtTable = r.table(table, "jwt", "");
        if (jwtTable != null) {
            String sub = ".jwt";
            r.onlyKeys(jwtTable, JWT_KEYS, sub);
            String audience = r.string(jwtTable, "audience", sub, null);
            if (audience == null) {
                throw r.problem(sub, "audience", "is required: tokens minted for another service must not be accepted");
            }
            String issuer = r.string(jwtTable, "issuer", sub, null);
            Duration skew = r.duration(jwtTable, "clock-skew", sub, Duration.ofSeconds(30));
            Path keyFile = r.path(jwtTable, "key-file", sub);
            Path secretFile = r.path(jwtTable, "secret-file", sub);
            if ((keyFile == null) == (secretFile == null)) {
                throw r.problem(sub, "key-file", "give exactly one of key-file (PEM public key, certificate or JWK set)"
                        + " and secret-file (HS256 secret)");
            }
            try {
                jwt = keyFile != null ? JwtVerifier.publicKeys(keyFile, audience, issuer, skew, clock)
                        : JwtVerifier.hmacSecret(secretFile, audience, issuer, skew, clock);
            } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
                throw r.problem(sub, keyFile != null ? "key-file" : "secret-file", e.getMessage());
            }
            files.add(keyFile != null ? keyFile : secretFile);
        }

        TlsFiles tls = null;
        Map<String, ?> tlsTable = r.table(table, "tls", "");
        if (tlsTable != null) {
            String sub = ".tls";
            r.onlyKeys(tlsTable, TLS_KEYS, sub);
            Path cert = r.path(tlsTable, "cert", sub);
            Path key = r.path(tlsTable, "key", sub);
            if (cert == null || key == null) {
                throw r.problem(sub, cert == null ? "cert" : "key", "is required for TLS (PEM files)");
            }
            Path ca = r.path(tlsTable, "client-ca", sub);
            boolean require = r.bool(tlsTable, "require-client-cert", sub, false);
            if (require && ca == null) {
                throw r.problem(sub, "require-client-cert", "needs client-ca, the CA client certificates chain to");
            }
            tls = new TlsFiles(cert, key, ca, require);
        }

        Map<String, Permissions> grants = new LinkedHashMap<>();
        Map<String, String> tokens = new LinkedHashMap<>();
        UnixPeerMapping.Builder unix = UnixPeerMapping.builder(accounts);
        TlsPeerMapping.Builder tlsPeers = TlsPeerMapping.builder();
        Map<String, ?> principals = r.table(table, "principals", "");
        if (principals != null) {
            for (String name : principals.keySet()) {
                String sub = ".principals." + name;
                Object value = principals.get(name);
                if (!(value instanceof Map<?, ?>)) {
                    throw new IllegalArgumentException(where + sub + ": must be a table of permissions and credentials");
                }
                @SuppressWarnings("unchecked")
                Map<String, ?> p = (Map<String, ?>) value;
                Permissions.Builder b = Permissions.builder();
                for (String key : p.keySet()) {
                    if (CREDENTIAL_KEYS.contains(key)) {
                        continue;
                    }
                    Operation op;
                    try {
                        op = JwtVerifier.operation(key);
                    } catch (IllegalArgumentException e) {
                        throw r.problem(sub, key, "unknown key (operations: publish, read, consume, request, respond,"
                                + " admin; credentials: " + String.join(", ", CREDENTIAL_KEYS) + ")");
                    }
                    try {
                        b.allow(op, r.strings(p, key, sub));
                    } catch (IllegalArgumentException e) {
                        throw r.problem(sub, key, e.getMessage());
                    }
                }
                grants.put(name, b.build());
                for (String hash : r.strings(p, "tokens", sub)) {
                    String canonical;
                    try {
                        canonical = TokenHash.canonical(hash);
                    } catch (IllegalArgumentException e) {
                        throw r.problem(sub, "tokens", e.getMessage());
                    }
                    String previous = tokens.putIfAbsent(canonical, name);
                    if (previous != null && !previous.equals(name)) {
                        throw r.problem(sub, "tokens", "a token hash already given to principal '" + previous + "'");
                    }
                }
                try {
                    for (String u : r.strings(p, "unix-users", sub)) {
                        unix.user(u, name);
                    }
                    for (String g : r.strings(p, "unix-groups", sub)) {
                        unix.group(g, name);
                    }
                    for (String s : r.strings(p, "tls-subjects", sub)) {
                        tlsPeers.subject(s, name);
                    }
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(where + sub + ": " + e.getMessage());
                }
            }
        }
        AccessRules rules = AccessRules.of(grants);
        return new SecurityConfig(true, allowAnonymous, rules, rules, new Authenticator(tokens, jwt), unix.build(),
                tlsPeers.build(), tls, socketGroup, List.copyOf(new LinkedHashSet<>(files)), auditRate);
    }

    /** Reads typed values from the plain maps, with messages naming the key. */
    private static final class Reader {
        private final String where;
        private final Path baseDir;

        Reader(String where, Path baseDir) {
            this.where = where;
            this.baseDir = baseDir;
        }

        IllegalArgumentException problem(String sub, String key, String what) {
            String table = where.endsWith("]") ? where.substring(0, where.length() - 1) + sub + "]" : where + sub;
            return new IllegalArgumentException(table + " " + key + ": " + what);
        }

        void onlyKeys(Map<String, ?> table, List<String> keys, String sub) {
            for (String k : table.keySet()) {
                if (!keys.contains(k)) {
                    throw problem(sub, k, "unknown key (keys: " + String.join(", ", keys) + ")");
                }
            }
        }

        @SuppressWarnings("unchecked")
        Map<String, ?> table(Map<String, ?> table, String key, String sub) {
            Object v = table.get(key);
            if (v == null) {
                return null;
            }
            if (!(v instanceof Map<?, ?>)) {
                throw problem(sub, key, "must be a table");
            }
            return (Map<String, ?>) v;
        }

        String string(Map<String, ?> table, String key, String sub, String otherwise) {
            Object v = table.get(key);
            if (v == null) {
                return otherwise;
            }
            if (!(v instanceof String s) || s.isBlank()) {
                throw problem(sub, key, "must be a non-empty string");
            }
            return s;
        }

        boolean bool(Map<String, ?> table, String key, String sub, boolean otherwise) {
            Object v = table.get(key);
            if (v == null) {
                return otherwise;
            }
            if (v instanceof Boolean b) {
                return b;
            }
            if (v instanceof String s && (s.equals("true") || s.equals("false"))) {
                return Boolean.parseBoolean(s);
            }
            throw problem(sub, key, "must be true or false");
        }

        long number(Map<String, ?> table, String key, String sub, long otherwise) {
            Object v = table.get(key);
            if (v == null) {
                return otherwise;
            }
            if (v instanceof Number n) {
                return n.longValue();
            }
            try {
                return Long.parseLong(String.valueOf(v).strip());
            } catch (NumberFormatException e) {
                throw problem(sub, key, "must be a whole number");
            }
        }

        Duration duration(Map<String, ?> table, String key, String sub, Duration otherwise) {
            String s = string(table, key, sub, null);
            if (s == null) {
                return otherwise;
            }
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)").matcher(s.strip()
                    .toLowerCase(Locale.ROOT));
            if (!m.matches()) {
                throw problem(sub, key, "'" + s + "' is not a duration such as 500ms, 30s, 2m, 1h");
            }
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        }

        Path path(Map<String, ?> table, String key, String sub) {
            String s = string(table, key, sub, null);
            return s == null ? null : baseDir.resolve(s).toAbsolutePath().normalize();
        }

        List<String> strings(Map<String, ?> table, String key, String sub) {
            Object v = table.get(key);
            if (v == null) {
                return List.of();
            }
            if (v instanceof String s) {
                return List.of(s);
            }
            if (!(v instanceof List<?> list)) {
                throw problem(sub, key, "must be a list of strings");
            }
            List<String> out = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw problem(sub, key, "must be a list of strings");
                }
                out.add(s);
            }
            return out;
        }
    }

    @Override
    public String toString() {
        if (!enabled) {
            return "access control off";
        }
        Set<String> ways = new LinkedHashSet<>();
        if (authenticator.acceptsAny()) {
            ways.add("tokens/JWT");
        }
        if (!unixPeers.isEmpty()) {
            ways.add("unix peers");
        }
        if (!tlsPeers.isEmpty()) {
            ways.add("TLS client certificates");
        }
        return "access control on: " + rules.principals().size() + " principals"
                + (ways.isEmpty() ? "" : ", authenticated by " + String.join(", ", ways))
                + (tls == null ? "" : ", TLS" + (tls.clientCa() == null ? "" : " with client certificates"));
    }
}
