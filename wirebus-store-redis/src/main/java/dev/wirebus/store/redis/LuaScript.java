package dev.wirebus.store.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Lua script of this module run by its SHA1 (EVALSHA), sent whole (EVAL) when Redis does not
 * know it yet: after a restart, a failover, or on a cluster node that never ran it.
 */
final class LuaScript {
    private final String name;
    private final String body;
    private final String sha;

    private LuaScript(String name, String body) {
        this.name = name;
        this.body = body;
        try {
            this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                    .digest(body.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no SHA-1 in this JVM", e);
        }
    }

    /**
     * Loads {@code <name>.lua} from beside this class, with the {@code libraries} (other files there,
     * defining local functions) put in front of it: Redis runs a script as one chunk, so shared code
     * travels inside each script that uses it.
     */
    static LuaScript load(String name, String... libraries) {
        StringBuilder body = new StringBuilder();
        for (String library : libraries) {
            body.append(read(library));
        }
        return new LuaScript(name, body.append(read(name)).toString());
    }

    private static String read(String name) {
        try (InputStream in = LuaScript.class.getResourceAsStream(name + ".lua")) {
            if (in == null) {
                throw new IllegalStateException("script " + name + ".lua is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read script " + name + ".lua", e);
        }
    }

    String name() {
        return name;
    }

    /** Runs the script; the result is Redis' reply as a list (bulk strings as byte arrays). */
    CompletableFuture<List<Object>> run(RedisClusterAsyncCommands<String, byte[]> commands, String[] keys,
                                        byte[]... args) {
        CompletableFuture<List<Object>> bySha = commands.<List<Object>>evalsha(sha, ScriptOutputType.MULTI, keys, args)
                .toCompletableFuture();
        return bySha.exceptionallyCompose(e -> {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof RedisNoScriptException
                    || (cause.getMessage() != null && cause.getMessage().startsWith("NOSCRIPT"))) {
                return commands.<List<Object>>eval(body, ScriptOutputType.MULTI, keys, args).toCompletableFuture();
            }
            return CompletableFuture.failedFuture(cause);
        });
    }

    /** Text of a reply element. */
    static String text(Object o) {
        if (o instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        return String.valueOf(o);
    }

    static long number(Object o) {
        if (o instanceof Long l) {
            return l;
        }
        return Long.parseLong(text(o));
    }
}
