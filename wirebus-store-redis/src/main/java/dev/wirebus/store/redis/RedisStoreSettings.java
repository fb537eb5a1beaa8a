package dev.wirebus.store.redis;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the Redis store is and how it behaves, parsed from the {@code store} setting of
 * {@code wirebus serve} ({@code --store}, {@code WIREBUS_STORE}, {@code [storage] store}):
 *
 * <pre>
 * redis://[:password@]host:port[/db][?options]          one Redis (or a proxy)
 * rediss://...                                          the same over TLS
 * redis-sentinel://[:password@]h1:p1,h2:p2/master-name  Sentinel; the master is found and followed
 * redis-cluster://[:password@]h1:p1,h2:p2               Redis Cluster (seeds)
 * </pre>
 *
 * Options: {@code timeout} (commands fail after it, default 2s), {@code wait} (replicas that must
 * confirm each append with WAIT before the broker acknowledges it; standalone and Sentinel only,
 * default 0), {@code prefix} (of every key, default {@code wirebus}), {@code cache} (records a
 * broker keeps in memory per stream for its subscribers, default 65536).
 *
 * <pre>{@code
 * RedisStoreSettings s = RedisStoreSettings.parse("redis://127.0.0.1:6379?timeout=500ms&wait=1");
 * }</pre>
 */
public record RedisStoreSettings(Mode mode, List<HostAndPort> nodes, String masterName, String password,
                                 int database, boolean tls, Duration timeout, int waitReplicas, String prefix,
                                 int cacheRecords, String text) {
    /** How the brokers reach Redis. */
    public enum Mode { STANDALONE, SENTINEL, CLUSTER }

    /** One address. */
    public record HostAndPort(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    /** Whether {@code text} names a Redis store (so the caller parses it here rather than as disk or memory). */
    public static boolean isRedis(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        return t.startsWith("redis://") || t.startsWith("rediss://") || t.startsWith("redis-sentinel://")
                || t.startsWith("redis-cluster://");
    }

    /**
     * Parses a store URI.
     *
     * @throws IllegalArgumentException saying what is wrong with it
     */
    public static RedisStoreSettings parse(String text) {
        String t = text.strip();
        int colon = t.indexOf("://");
        if (colon < 0 || !isRedis(t)) {
            throw new IllegalArgumentException("'" + text + "' is not a redis://, rediss://, redis-sentinel:// or "
                    + "redis-cluster:// address");
        }
        String scheme = t.substring(0, colon).toLowerCase(Locale.ROOT);
        String rest = t.substring(colon + 3);
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String password = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            String user = rest.substring(0, at);
            password = user.startsWith(":") ? user.substring(1) : user;
            rest = rest.substring(at + 1);
        }
        String path = "";
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            path = rest.substring(slash + 1);
            rest = rest.substring(0, slash);
        }
        List<HostAndPort> nodes = new ArrayList<>();
        for (String hp : rest.split(",")) {
            nodes.add(hostAndPort(text, hp, scheme.equals("redis-sentinel") ? 26379 : 6379));
        }
        Mode mode = switch (scheme) {
            case "redis-sentinel" -> Mode.SENTINEL;
            case "redis-cluster" -> Mode.CLUSTER;
            default -> Mode.STANDALONE;
        };
        if (mode == Mode.STANDALONE && nodes.size() != 1) {
            throw new IllegalArgumentException("'" + text + "': redis:// takes one host:port; use redis-sentinel:// "
                    + "or redis-cluster:// for several");
        }
        String master = null;
        int database = 0;
        if (mode == Mode.SENTINEL) {
            if (path.isEmpty()) {
                throw new IllegalArgumentException("'" + text + "': redis-sentinel:// needs the master's name: "
                        + "redis-sentinel://host:26379/mymaster");
            }
            master = path;
        } else if (!path.isEmpty()) {
            if (mode == Mode.CLUSTER) {
                throw new IllegalArgumentException("'" + text + "': Redis Cluster has no databases; drop '/" + path + "'");
            }
            try {
                database = Integer.parseInt(path);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + text + "': '/" + path + "' is not a database number");
            }
        }
        Map<String, String> options = new LinkedHashMap<>();
        for (String kv : query.split("&")) {
            if (kv.isEmpty()) {
                continue;
            }
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("'" + text + "': option '" + kv + "' is not name=value");
            }
            options.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        Duration timeout = Duration.ofSeconds(2);
        int wait = 0;
        String prefix = "wirebus";
        int cache = 65536;
        for (Map.Entry<String, String> e : options.entrySet()) {
            String v = e.getValue();
            switch (e.getKey()) {
                case "timeout" -> timeout = duration(text, v);
                case "wait" -> wait = positive(text, "wait", v, 0);
                case "prefix" -> {
                    if (!v.matches("[A-Za-z0-9._:-]{1,64}")) {
                        throw new IllegalArgumentException("'" + text + "': prefix '" + v + "' must be 1 to 64 of "
                                + "A-Z a-z 0-9 . _ : -");
                    }
                    prefix = v;
                }
                case "cache" -> cache = positive(text, "cache", v, 1);
                default -> throw new IllegalArgumentException("'" + text + "': unknown option '" + e.getKey()
                        + "' (options: timeout, wait, prefix, cache)");
            }
        }
        if (wait > 0 && mode == Mode.CLUSTER) {
            throw new IllegalArgumentException("'" + text + "': wait is not supported with redis-cluster:// "
                    + "(WAIT would reach another node than the append)");
        }
        return new RedisStoreSettings(mode, List.copyOf(nodes), master, password, database,
                scheme.equals("rediss"), timeout, wait, prefix, cache, redacted(t, password));
    }

    private static String redacted(String t, String password) {
        return password == null ? t : t.replace(password, "***");
    }

    private static HostAndPort hostAndPort(String text, String hp, int defaultPort) {
        if (hp.isBlank()) {
            throw new IllegalArgumentException("'" + text + "': an empty host");
        }
        try {
            URI u = new URI("x://" + hp);
            if (u.getHost() == null) {
                throw new IllegalArgumentException("'" + text + "': '" + hp + "' is not host:port");
            }
            return new HostAndPort(u.getHost(), u.getPort() < 0 ? defaultPort : u.getPort());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "': '" + hp + "' is not host:port");
        }
    }

    private static Duration duration(String text, String v) {
        try {
            Duration d;
            if (v.endsWith("ms")) {
                d = Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
            } else if (v.endsWith("s")) {
                d = Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1)));
            } else {
                d = Duration.ofMillis(Long.parseLong(v));
            }
            if (d.isZero() || d.isNegative()) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': timeout '" + v + "' is not a positive duration "
                    + "like 500ms or 2s");
        }
    }

    private static int positive(String text, String name, String v, int min) {
        try {
            int n = Integer.parseInt(v);
            if (n < min) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "': " + name + " '" + v + "' must be a whole number of at "
                    + "least " + min);
        }
    }

    @Override
    public String toString() {
        return text;
    }
}
