package dev.wirebus.gateway.internal;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Files from the classpath: the demo page and its scripts under {@code dev/wirebus/gateway/web/}
 * ({@code /} is {@code index.html}), and {@code /openapi.json}, a copy of {@code docs/openapi.json}.
 * A file found is read once and kept; a name not found is not remembered, so the cache holds at
 * most the files that exist and cannot be grown by requests for made-up names. Only plain file
 * names are served: no directories, no {@code ..}.
 */
public final class StaticResources {
    private static final String WEB = "dev/wirebus/gateway/web/";
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]*");
    private final ConcurrentHashMap<String, byte[]> cache = new ConcurrentHashMap<>();

    /** {@code GET /}. */
    public void index(Exchange ex) {
        serve(ex, WEB + "index.html", "index.html");
    }

    /** {@code GET /{file}}: a file of the web directory. */
    public void file(Exchange ex) {
        String name = ex.param("file");
        if (!SAFE_NAME.matcher(name).matches()) {
            notFound(ex);
            return;
        }
        serve(ex, WEB + name, name);
    }

    /** {@code GET /openapi.json}. */
    public void openApi(Exchange ex) {
        serve(ex, "dev/wirebus/gateway/openapi.json", "openapi.json");
    }

    private void serve(Exchange ex, String resource, String name) {
        Optional<byte[]> bytes = resource(resource);
        if (bytes.isEmpty()) {
            notFound(ex);
            return;
        }
        FullHttpResponse r = Responses.bytes(HttpResponseStatus.OK, bytes.get(), contentType(name));
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        ex.respond(r);
    }

    /** The bytes of a classpath resource, kept once found; a miss is not cached. */
    Optional<byte[]> resource(String resource) {
        byte[] cached = cache.get(resource);
        if (cached != null) {
            return Optional.of(cached);
        }
        Optional<byte[]> loaded = load(resource);
        loaded.ifPresent(b -> cache.putIfAbsent(resource, b));
        return loaded;
    }

    /** Resources kept now. */
    int cachedResources() {
        return cache.size();
    }

    private static void notFound(Exchange ex) {
        ex.fail(GatewayError.of(HttpResponseStatus.NOT_FOUND, GatewayError.NOT_FOUND,
                "no such path: " + ex.request().uri()));
    }

    private static Optional<byte[]> load(String resource) {
        try (InputStream in = StaticResources.class.getClassLoader().getResourceAsStream(resource)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }

    static String contentType(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.endsWith(".html")) {
            return "text/html; charset=utf-8";
        }
        if (n.endsWith(".js") || n.endsWith(".mjs")) {
            return "text/javascript; charset=utf-8";
        }
        if (n.endsWith(".css")) {
            return "text/css; charset=utf-8";
        }
        if (n.endsWith(".json")) {
            return "application/json";
        }
        if (n.endsWith(".svg")) {
            return "image/svg+xml";
        }
        if (n.endsWith(".png")) {
            return "image/png";
        }
        if (n.endsWith(".ico")) {
            return "image/x-icon";
        }
        return "application/octet-stream";
    }
}
