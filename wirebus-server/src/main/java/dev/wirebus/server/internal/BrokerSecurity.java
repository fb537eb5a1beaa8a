package dev.wirebus.server.internal;

import dev.wirebus.security.AuditLog;
import dev.wirebus.security.ReloadingSslContext;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.TlsFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The broker's access control, shared by its connections: the configuration in force (replaced
 * whole by {@link #reload()}), the TLS context of the TCP listener, the audit log and the
 * counters. A reload comes from SIGHUP ({@code wirebus serve}), from a change of one of the
 * configuration's files (checked every {@code watchInterval}), or from {@link #reload()}; each
 * open connection then re-checks its principal, subscriptions and responders on its event loop.
 *
 * <p>Thread-safe.
 */
public final class BrokerSecurity implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BrokerSecurity.class);

    private final Supplier<SecurityConfig> reloader;
    private final SecurityMetrics metrics;
    private volatile SecurityConfig config;
    private volatile AuditLog audit;
    private volatile ReloadingSslContext tls;
    private volatile Set<ConnectionHandler> connections = Set.of();
    private volatile java.util.function.Consumer<dev.wirebus.security.AccessPolicy> onPolicy = p -> { };
    private ScheduledExecutorService watcher;
    /** The credential of this broker's own in-process clients (the HTTP gateway): random per start. */
    private final byte[] internalToken;
    /** What an in-process client that presents {@link #internalToken} may do: everything. */
    static final dev.wirebus.security.Permissions EVERYTHING = everything();
    /** The principal of in-process clients. */
    static final dev.wirebus.security.Principal INTERNAL = new dev.wirebus.security.Principal("wirebus-internal",
            "internal", EVERYTHING);
    private List<FileTime> stamps;

    public BrokerSecurity(SecurityConfig config, Supplier<SecurityConfig> reloader, SecurityMetrics metrics) {
        this.config = Objects.requireNonNull(config, "config");
        this.reloader = reloader;
        this.metrics = metrics;
        this.audit = new AuditLog(config.auditLinesPerSecond());
        // printable (base64url of 32 random bytes): clients take a bearer credential as text
        byte[] random = new byte[32];
        new java.security.SecureRandom().nextBytes(random);
        internalToken = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(random)
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        this.tls = config.tls() == null ? null : ReloadingSslContext.open(config.tls(), Duration.ofSeconds(1));
    }

    /**
     * Refuses a TCP listener on an address other than loopback when no client could authenticate
     * there, unless anonymous access was allowed explicitly; warns when it was.
     *
     * @throws IOException naming the address and the two ways out
     */
    public static void checkListener(InetSocketAddress tcp, SecurityConfig security) throws IOException {
        if (tcp == null || tcp.getAddress() == null || tcp.getAddress().isLoopbackAddress()) {
            return;
        }
        String where = tcp.getHostString() + ":" + tcp.getPort();
        if (security.hasNetworkAuthentication()) {
            return;
        }
        if (security.allowAnonymous()) {
            log.warn("listening on {} without authentication (allow-anonymous / --insecure): anyone who reaches it {}",
                    where, security.enabled() ? "has the permissions of 'anonymous'" : "may do anything");
            return;
        }
        throw new IOException("refusing to listen on " + where + " without authentication: anyone on the network "
                + "could publish, read and respond. Configure tokens, JWTs or client certificates in [security] "
                + "(docs/security.md), bind to 127.0.0.1, or accept the risk with --insecure "
                + "(allow-anonymous = true)");
    }

    private static dev.wirebus.security.Permissions everything() {
        dev.wirebus.security.Permissions.Builder b = dev.wirebus.security.Permissions.builder();
        for (dev.wirebus.security.Operation op : dev.wirebus.security.Operation.values()) {
            b.allow(op, ">");
        }
        return b.build();
    }

    /**
     * A bearer credential for this broker's own in-process clients (the HTTP gateway of
     * {@code wirebus serve}, which checks each HTTP request itself): AUTH with it makes the
     * principal {@code wirebus-internal}, allowed everything. Random per start, never written anywhere.
     */
    public byte[] internalCredential() {
        return internalToken.clone();
    }

    /** Whether {@code credential} is the internal one (compared in constant time). */
    boolean isInternal(byte[] credential) {
        return java.security.MessageDigest.isEqual(internalToken, credential);
    }

    /** Tells {@code listener} the policy in force after each reload (the dispatch table checks frames with it). */
    void onPolicy(java.util.function.Consumer<dev.wirebus.security.AccessPolicy> listener) {
        this.onPolicy = listener;
    }

    /** The configuration in force. */
    public SecurityConfig current() {
        return config;
    }

    /** Whether access control is on. */
    public boolean enabled() {
        return config.enabled();
    }

    /** The TLS context of the TCP listener, or null for plain TCP. */
    public ReloadingSslContext tls() {
        return tls;
    }

    AuditLog audit() {
        return audit;
    }

    SecurityMetrics metrics() {
        return metrics;
    }

    /** Starts watching the configuration's files; each open connection is re-checked after a reload. */
    public synchronized void start(Set<ConnectionHandler> connections, Duration watchInterval) {
        this.connections = connections;
        if (reloader == null || config.files().isEmpty() || watchInterval.isZero()) {
            return;
        }
        stamps = stamps(config.files());
        watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "wirebus-security-watch");
            t.setDaemon(true);
            return t;
        });
        long ms = watchInterval.toMillis();
        watcher.scheduleWithFixedDelay(this::reloadIfChanged, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void reloadIfChanged() {
        try {
            List<FileTime> latest = stamps(config.files());
            boolean changed;
            synchronized (this) {
                changed = !latest.equals(stamps);
                stamps = latest;
            }
            if (changed) {
                log.info("access configuration files changed: reloading");
                reload();
            }
        } catch (RuntimeException e) {
            log.error("watching the access configuration failed", e);
        }
    }

    /**
     * Reads the configuration again and puts it in force; a configuration that does not load keeps
     * the one in force (logged).
     *
     * @return whether the new configuration is in force
     */
    public boolean reload() {
        if (reloader == null) {
            log.warn("reload asked, but this broker's access configuration was not read from a file");
            return false;
        }
        SecurityConfig next;
        try {
            next = reloader.get();
        } catch (RuntimeException e) {
            metrics.reloaded(false);
            log.error("access configuration not reloaded, the previous one stays in force: {}", e.getMessage());
            return false;
        }
        apply(next);
        return true;
    }

    /** Puts {@code next} in force and re-checks every open connection against it. */
    public void apply(SecurityConfig next) {
        if (next.enabled() != config.enabled()) {
            log.warn("a reload cannot switch access control {}: restart the broker for that", next.enabled() ? "on"
                    : "off");
            metrics.reloaded(false);
            return;
        }
        TlsFiles oldTls = config.tls();
        if (!Objects.equals(oldTls, next.tls())) {
            if (tls == null || next.tls() == null) {
                log.warn("a reload cannot switch TLS on or off: restart the broker for that; other changes apply");
            } else {
                try {
                    tls = ReloadingSslContext.open(next.tls(), Duration.ofSeconds(1));
                } catch (IllegalArgumentException e) {
                    log.error("new TLS files not usable, keeping the current ones: {}", e.getMessage());
                }
            }
        }
        if (next.auditLinesPerSecond() != config.auditLinesPerSecond()) {
            audit = new AuditLog(next.auditLinesPerSecond());
        }
        config = next;
        onPolicy.accept(next.policy());
        synchronized (this) {
            stamps = stamps(next.files());
        }
        metrics.reloaded(true);
        log.info("access configuration reloaded: {}", next);
        for (ConnectionHandler c : connections) {
            if (c.channel() != null) {
                c.channel().eventLoop().execute(c.security()::recheck);
            }
        }
    }

    private static List<FileTime> stamps(List<Path> files) {
        List<FileTime> out = new ArrayList<>();
        for (Path p : files) {
            try {
                out.add(Files.getLastModifiedTime(p));
            } catch (IOException e) {
                out.add(FileTime.fromMillis(-1)); // missing now: a change when it comes back
            }
        }
        return out;
    }

    /** Stops watching files. */
    @Override
    public synchronized void close() {
        if (watcher != null) {
            watcher.shutdownNow();
            watcher = null;
        }
        metrics.close();
    }
}
