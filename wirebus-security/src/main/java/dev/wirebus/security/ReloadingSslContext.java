package dev.wirebus.security;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A server {@link SslContext} built from {@link TlsFiles} (TLS 1.3 and 1.2 only), rebuilt when one
 * of the files changes: {@link #current()} looks at the files' modification times at most once per
 * check interval, so a renewed certificate is used by the next connection without a restart.
 * A rebuild that fails (a half-written file) keeps the previous context and is tried again at the
 * next change.
 *
 * <pre>{@code
 * ReloadingSslContext tls = ReloadingSslContext.open(files, Duration.ofSeconds(1));
 * pipeline.addFirst("tls", tls.current().newHandler(channel.alloc()));
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class ReloadingSslContext {
    private static final Logger log = LoggerFactory.getLogger(ReloadingSslContext.class);
    /** The protocols a wirebus TLS listener speaks. */
    public static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final TlsFiles files;
    private final long checkIntervalNanos;
    private volatile SslContext context;
    private volatile List<FileTime> stamps;
    private volatile long nextCheckNanos;

    private ReloadingSslContext(TlsFiles files, long checkIntervalNanos, SslContext context, List<FileTime> stamps) {
        this.files = files;
        this.checkIntervalNanos = checkIntervalNanos;
        this.context = context;
        this.stamps = stamps;
        this.nextCheckNanos = System.nanoTime() + checkIntervalNanos;
    }

    /**
     * Builds the context from the files.
     *
     * @throws IllegalArgumentException naming the files when they cannot be read or do not hold a
     *                                  certificate and its key
     */
    public static ReloadingSslContext open(TlsFiles files, java.time.Duration checkInterval) {
        List<FileTime> stamps = stamps(files);
        return new ReloadingSslContext(files, checkInterval.toNanos(), build(files), stamps);
    }

    /** The files it is built from. */
    public TlsFiles files() {
        return files;
    }

    /** The context for a new connection: rebuilt first when a file changed since the last build. */
    public SslContext current() {
        long now = System.nanoTime();
        if (now - nextCheckNanos >= 0) {
            reloadIfChanged(now);
        }
        return context;
    }

    /** Rebuilds now when a file changed; returns whether a new context is in use. */
    public synchronized boolean reloadIfChanged() {
        return reloadIfChanged(System.nanoTime());
    }

    private synchronized boolean reloadIfChanged(long now) {
        nextCheckNanos = now + checkIntervalNanos;
        List<FileTime> latest;
        try {
            latest = stamps(files);
        } catch (IllegalArgumentException e) {
            log.warn("TLS files not readable, keeping the current certificate: {}", e.getMessage());
            return false;
        }
        if (latest.equals(stamps)) {
            return false;
        }
        try {
            context = build(files);
            stamps = latest;
            log.info("TLS certificate reloaded from {}", files.certificateChain());
            return true;
        } catch (IllegalArgumentException e) {
            log.warn("TLS files changed but cannot be used, keeping the current certificate: {}", e.getMessage());
            return false;
        }
    }

    private static SslContext build(TlsFiles files) {
        try {
            SslContextBuilder b = SslContextBuilder.forServer(files.certificateChain().toFile(),
                            files.privateKey().toFile())
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS);
            if (files.clientCa() != null) {
                b.trustManager(files.clientCa().toFile())
                        .clientAuth(files.requireClientCertificate() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
            }
            return b.build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS certificate " + files.certificateChain() + " / key "
                    + files.privateKey() + (files.clientCa() == null ? "" : " / client CA " + files.clientCa())
                    + ": " + rootMessage(e), e);
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return Objects.toString(c.getMessage(), c.toString());
    }

    private static List<FileTime> stamps(TlsFiles files) {
        List<FileTime> out = new ArrayList<>(3);
        for (Path p : new Path[] {files.certificateChain(), files.privateKey(), files.clientCa()}) {
            if (p == null) {
                continue;
            }
            try {
                out.add(Files.getLastModifiedTime(p));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read " + p + ": " + e);
            }
        }
        return out;
    }
}
