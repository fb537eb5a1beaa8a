package dev.wirebus.gateway;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProtocols;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A server TLS context from PEM files (a certificate chain and a PKCS#8 private key), reloaded when
 * either file changes: give it to {@link Gateway.Builder#tls(Supplier)} and a renewed certificate
 * serves new connections without a restart. TLS 1.2 and 1.3 only.
 *
 * <pre>{@code
 * Gateway.builder().client(client).tls(PemTls.load(Path.of("cert.pem"), Path.of("key.pem"))).build();
 * }</pre>
 *
 * <p>Each {@link #get()} (one per new connection) compares the files' modification times with
 * those last loaded (two {@code stat}s); a file that fails to load after a change keeps the
 * previous context serving and is retried on the next connection. Thread-safe.
 */
public final class PemTls implements Supplier<SslContext> {
    private static final String[] PROTOCOLS = {SslProtocols.TLS_v1_3, SslProtocols.TLS_v1_2};

    private final Path certificate;
    private final Path key;
    private volatile Loaded loaded;

    private record Loaded(SslContext context, FileTime certTime, FileTime keyTime) {
    }

    private PemTls(Path certificate, Path key, Loaded first) {
        this.certificate = certificate;
        this.key = key;
        this.loaded = first;
    }

    /**
     * Loads the files now.
     *
     * @throws UncheckedIOException when a file cannot be read or is not a PEM certificate chain or key
     */
    public static PemTls load(Path certificate, Path key) {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        return new PemTls(certificate, key, read(certificate, key));
    }

    private static Loaded read(Path certificate, Path key) {
        try {
            FileTime ct = Files.getLastModifiedTime(certificate);
            FileTime kt = Files.getLastModifiedTime(key);
            SslContext context = SslContextBuilder.forServer(certificate.toFile(), key.toFile())
                    .protocols(PROTOCOLS).build();
            return new Loaded(context, ct, kt);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load TLS certificate " + certificate + " and key " + key + ": "
                    + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new UncheckedIOException("cannot load TLS certificate " + certificate + " and key " + key + ": "
                    + e.getMessage(), new IOException(e));
        }
    }

    /** The context for a new connection: reloaded first when a file changed since the last load. */
    @Override
    public SslContext get() {
        Loaded current = loaded;
        try {
            if (!Files.getLastModifiedTime(certificate).equals(current.certTime())
                    || !Files.getLastModifiedTime(key).equals(current.keyTime())) {
                synchronized (this) {
                    if (loaded == current) {
                        loaded = read(certificate, key);
                    }
                    current = loaded;
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // a renewal in progress (one file written, not the other) or a bad file: keep serving the last good one
        }
        return current.context();
    }

    @Override
    public String toString() {
        return "TLS from " + certificate + " and " + key;
    }
}
