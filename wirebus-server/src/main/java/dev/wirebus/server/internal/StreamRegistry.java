package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.server.internal.storage.DurableStreamLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/** The broker's streams by name, created on first use, opened from the store at start. */
public final class StreamRegistry {
    private static final Logger log = LoggerFactory.getLogger(StreamRegistry.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

    private final ConcurrentHashMap<String, Stream> streams = new ConcurrentHashMap<>();
    private final StreamStorage storage;
    private final BrokerMetrics metrics;

    public StreamRegistry(StreamStorage storage, BrokerMetrics metrics) {
        this.storage = storage;
        this.metrics = metrics;
    }

    /** Opens every stream the store holds (recovering their logs). */
    public int recover() throws IOException {
        int n = 0;
        for (String name : storage.existing()) {
            if (NAME.matcher(name).matches() && !name.matches("\\.+")) {
                getOrCreate(name);
                n++;
            } else {
                log.warn("ignoring '{}' in the store: not a stream name", name);
            }
        }
        return n;
    }

    /** The stream of that name, created empty if new. */
    public Stream getOrCreate(String name) {
        Stream s = streams.get(name);
        if (s != null) {
            return s;
        }
        checkName("stream", name);
        return streams.computeIfAbsent(name, n -> {
            try {
                StreamLog opened = storage.open(n);
                try {
                    Stream created = new Stream(n, opened, storage.committer(n));
                    created.positions(storage.positions(), storage.positions().load(n));
                    metrics.streamOpened(created);
                    return created;
                } catch (IOException | RuntimeException e) {
                    if (opened instanceof DurableStreamLog d) {
                        d.close(); // not kept: do not leave its files open
                    }
                    throw e;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot open stream '" + n + "'", e);
            }
        });
    }

    /** The stream of that name, or null. */
    public Stream get(String name) {
        return streams.get(name);
    }

    /** Number of streams. */
    public int size() {
        return streams.size();
    }

    /** fsync calls made by the streams' logs so far (0 in memory); read by a metric. */
    long syncCount() {
        long n = 0;
        for (Stream s : streams.values()) {
            if (s.log() instanceof DurableStreamLog d) {
                n += d.syncCount();
            }
        }
        return n;
    }

    /** Syncs (when stored on disk) and closes every stream's log. */
    public void closeAll() {
        for (Stream s : streams.values()) {
            metrics.streamClosed(s);
            if (s.log() instanceof DurableStreamLog d) {
                try {
                    d.sync();
                } catch (RuntimeException e) {
                    log.error("could not sync stream '{}' at shutdown", s.name(), e);
                }
                d.close();
            }
        }
    }

    /**
     * Refuses names that are empty, too long, only dots, or use characters other than letters,
     * digits and {@code . _ : -}.
     */
    public static void checkName(String what, String name) {
        if (!NAME.matcher(name).matches() || name.matches("\\.+")) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, what + " name '" + name
                    + "' must be 1 to 200 characters of A-Z a-z 0-9 . _ : - (and not only dots)");
        }
    }
}
