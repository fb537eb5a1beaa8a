package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;

import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** The broker's streams by name, created on first use. */
public final class StreamRegistry {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

    private final ConcurrentHashMap<String, Stream> streams = new ConcurrentHashMap<>();
    private final long retentionMessages;
    private final long retentionBytes;

    public StreamRegistry(long retentionMessages, long retentionBytes) {
        this.retentionMessages = retentionMessages;
        this.retentionBytes = retentionBytes;
    }

    /** The stream of that name, created empty if new. */
    public Stream getOrCreate(String name) {
        Stream s = streams.get(name);
        if (s != null) {
            return s;
        }
        checkName("stream", name);
        return streams.computeIfAbsent(name, n -> new Stream(n, new InMemoryStreamLog(retentionMessages, retentionBytes)));
    }

    /** The stream of that name, or null. */
    public Stream get(String name) {
        return streams.get(name);
    }

    /** Refuses names that are empty, too long, or use characters other than letters, digits and {@code . _ : -}. */
    public static void checkName(String what, String name) {
        if (!NAME.matcher(name).matches()) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, what + " name '" + name
                    + "' must be 1 to 200 characters of A-Z a-z 0-9 . _ : -");
        }
    }
}
