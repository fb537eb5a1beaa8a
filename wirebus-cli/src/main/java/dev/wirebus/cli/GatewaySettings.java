package dev.wirebus.cli;

import dev.wirebus.cli.ServeSettings.Setting;
import dev.wirebus.gateway.BrowserAccess;
import dev.wirebus.security.ReloadingSslContext;
import dev.wirebus.security.TlsFiles;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The gateway's browser and TLS settings of {@code wirebus serve} ({@code [http] allowed-origins},
 * {@code allowed-hosts}, {@code demo}, {@code tls-cert}, {@code tls-key}): their parsers, and the
 * settings resolved into what {@link HttpGateway} gives the gateway's builder.
 *
 * <pre>{@code
 * GatewaySettings gw = GatewaySettings.of(settings);
 * Gateway.builder().browserAccess(gw.access()).demo(gw.demo());
 * gw.tls().ifPresent(builder::tls);
 * }</pre>
 *
 * @param access  allowed origins and host names
 * @param demo    serve the demo page and the demo endpoint
 * @param tlsCert PEM certificate chain of HTTPS, if any
 * @param tlsKey  PEM (PKCS#8) key of it
 */
record GatewaySettings(BrowserAccess access, boolean demo, Optional<Path> tlsCert, Optional<Path> tlsKey) {

    /** The gateway settings among {@code settings}; fails naming the source when only one of cert and key is set. */
    static GatewaySettings of(ServeSettings settings) {
        BrowserAccess.Builder access = BrowserAccess.builder();
        list(settings, Setting.HTTP_ALLOWED_ORIGINS).forEach(access::allowOrigin);
        list(settings, Setting.HTTP_ALLOWED_HOSTS).forEach(access::allowHost);
        Optional<Path> cert = path(settings, Setting.HTTP_TLS_CERT);
        Optional<Path> key = path(settings, Setting.HTTP_TLS_KEY);
        if (cert.isPresent() != key.isPresent()) {
            Setting given = cert.isPresent() ? Setting.HTTP_TLS_CERT : Setting.HTTP_TLS_KEY;
            Setting missing = cert.isPresent() ? Setting.HTTP_TLS_KEY : Setting.HTTP_TLS_CERT;
            throw settings.origin(given).problem("HTTPS needs both " + Setting.HTTP_TLS_CERT.path() + " and "
                    + Setting.HTTP_TLS_KEY.path() + ": " + missing.path() + " is not set");
        }
        return new GatewaySettings(access.build(), (Boolean) settings.get(Setting.HTTP_DEMO), cert, key);
    }

    /** How often a new connection looks for a renewed certificate. */
    static final java.time.Duration TLS_CHECK_INTERVAL = java.time.Duration.ofSeconds(1);

    /**
     * The TLS context of HTTPS, rebuilt for new connections when a file changes (checked at most
     * once a second), when a certificate is set.
     *
     * @throws IllegalArgumentException naming the files when they do not hold a certificate and its key
     */
    Optional<ReloadingSslContext> tls() {
        return tlsCert.map(c -> ReloadingSslContext.open(new TlsFiles(c, tlsKey.orElseThrow(), null, false),
                TLS_CHECK_INTERVAL));
    }

    @SuppressWarnings("unchecked")
    private static List<String> list(ServeSettings settings, Setting s) {
        return (List<String>) settings.get(s);
    }

    @SuppressWarnings("unchecked")
    private static Optional<Path> path(ServeSettings settings, Setting s) {
        return (Optional<Path>) settings.get(s);
    }

    // ---------------------------------------------------------------- parsers of ServeSettings.Setting

    /** Origins separated by commas or spaces, each checked; "" for none. */
    static List<String> origins(String text) {
        List<String> origins = words(text);
        origins.forEach(o -> BrowserAccess.builder().allowOrigin(o));
        return origins;
    }

    /** Host names separated by commas or spaces, each checked; "" for none. */
    static List<String> hosts(String text) {
        List<String> hosts = words(text);
        hosts.forEach(h -> BrowserAccess.builder().allowHost(h));
        return hosts;
    }

    private static List<String> words(String text) {
        List<String> words = new ArrayList<>();
        for (String w : text.strip().split("[,\\s]+")) {
            if (!w.isEmpty()) {
                words.add(w);
            }
        }
        return List.copyOf(words);
    }

    /** {@code on}/{@code true} or {@code off}/{@code false}. */
    static Boolean onOff(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "on", "true" -> true;
            case "off", "false" -> false;
            default -> throw new IllegalArgumentException("'" + text + "' is not on or off");
        };
    }

    /** A file path, or "" for none. */
    static Optional<Path> optionalPath(String text) {
        if (text.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(text.strip()).toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + text + "' is not a path: " + e.getReason());
        }
    }
}
