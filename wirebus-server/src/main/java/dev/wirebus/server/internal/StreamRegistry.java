package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.server.internal.storage.DurableStreamLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The broker's streams by name: opened from the store at start, created by a first publish, at most
 * {@code maxStreams} of them. Subscribing to a stream that does not exist creates nothing: the
 * subscription waits on an <em>awaited</em> stream, an empty placeholder in memory (no files,
 * nothing persisted) that the first publish turns into a stored stream, and that goes when its last
 * subscriber leaves. Awaited streams are capped by the same number, separately.
 *
 * <p>Thread-safe: lookups are lock-free; creating, awaiting and dropping a stream take the
 * registry's monitor (creation opens the stream's files under it).
 */
public final class StreamRegistry {
    private static final Logger log = LoggerFactory.getLogger(StreamRegistry.class);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

    private final ConcurrentHashMap<String, Stream> streams = new ConcurrentHashMap<>();
    private final StreamStorage storage;
    private final BrokerMetrics metrics;
    private final int maxStreams;
    /** Guarded by this: streams that exist (stored, or in memory for memory storage). */
    private int stored;
    /** Guarded by this: streams only awaited by subscribers. */
    private int awaited;
    /** Publishes and subscriptions refused because of the limit. */
    private final java.util.concurrent.atomic.AtomicLong refused = new java.util.concurrent.atomic.AtomicLong();

    public StreamRegistry(StreamStorage storage, BrokerMetrics metrics) {
        this(storage, metrics, Integer.MAX_VALUE);
    }

    public StreamRegistry(StreamStorage storage, BrokerMetrics metrics, int maxStreams) {
        this.storage = storage;
        this.metrics = metrics;
        this.maxStreams = maxStreams;
    }

    /**
     * Opens every stream the store holds (recovering their logs), even more than {@code maxStreams}:
     * a broker always starts on its own data directory.
     */
    public int recover() throws IOException {
        int n = 0;
        for (String name : storage.existing()) {
            if (NAME.matcher(name).matches() && !name.matches("\\.+")) {
                synchronized (this) {
                    if (!streams.containsKey(name)) {
                        streams.put(name, openStored(name, null));
                        stored++;
                    }
                }
                n++;
            } else {
                log.warn("ignoring '{}' in the store: not a stream name", name);
            }
        }
        if (stored > maxStreams) {
            log.warn("the store holds {} streams, more than the limit of {}: all are served, and no new stream "
                    + "can be created until there are fewer", stored, maxStreams);
        }
        return n;
    }

    /**
     * The stream of that name, created if new (a publish): an awaited stream becomes a stored one.
     *
     * @throws BrokerException {@link ErrorCode#STREAM_LIMIT} when the broker holds {@code maxStreams} streams,
     *     {@link ErrorCode#INVALID_ARGUMENT} for a bad name
     * @throws UncheckedIOException when the stream's files cannot be opened
     */
    public Stream getOrCreate(String name) {
        Stream s = streams.get(name);
        if (s != null && !s.isAwaited()) {
            return s;
        }
        checkName("stream", name);
        synchronized (this) {
            s = streams.get(name);
            if (s != null && !s.isAwaited()) {
                return s;
            }
            if (stored >= maxStreams) {
                refused.incrementAndGet();
                throw new BrokerException(ErrorCode.STREAM_LIMIT, "stream '" + name + "' was not created: the broker "
                        + "holds " + stored + " streams, its limit (max-streams " + maxStreams + ")");
            }
            Stream created;
            try {
                created = openStored(name, s);
            } catch (BrokerException e) {
                if (e.code() == ErrorCode.STREAM_LIMIT) {
                    refused.incrementAndGet(); // a shared store counts the streams of every broker
                }
                throw e;
            }
            if (s == null) {
                streams.put(name, created);
            } else {
                awaited--;
            }
            stored++;
            return created;
        }
    }

    /**
     * The stream a subscription reads, counting the subscription as one of its subscribers: the
     * stream if it exists, else an awaited placeholder (no files, nothing persisted). The caller
     * ends the count with {@link Stream#subscriberClosed()} (the cursor does, on close).
     *
     * @throws BrokerException {@link ErrorCode#STREAM_LIMIT} when {@code maxStreams} streams are
     *     already awaited, {@link ErrorCode#INVALID_ARGUMENT} for a bad name
     */
    public Stream attach(String name) {
        Stream s = streams.get(name);
        if (s != null && !s.isAwaited()) {
            s.subscriberOpened();
            return s;
        }
        checkName("stream", name);
        synchronized (this) {
            s = streams.get(name);
            if (storage.shared() && (s == null || s.isAwaited())) {
                // another broker may create it any moment: subscribe to the stored stream, not a placeholder
                s = getOrCreate(name);
                s.subscriberOpened();
                return s;
            }
            if (s == null) {
                if (awaited >= maxStreams) {
                    refused.incrementAndGet();
                    throw new BrokerException(ErrorCode.STREAM_LIMIT, "stream '" + name + "' does not exist, and "
                            + awaited + " streams that do not exist are already awaited by subscribers (the limit, "
                            + "max-streams " + maxStreams + ")");
                }
                s = Stream.awaited(name, this::dropIfIdle);
                streams.put(name, s);
                awaited++;
            }
            // under the monitor, so dropIfIdle cannot drop it between the lookup and the count
            s.subscriberOpened();
            return s;
        }
    }

    /**
     * Deletes a stream (DELETE_STREAM): its records, its durable consumers and their positions; its
     * held publishes fail and its subscriptions end, both with {@link ErrorCode#NOT_FOUND}. It no
     * longer counts against {@code maxStreams}; a later publish creates it anew from sequence 1, in a
     * new store epoch ({@link StreamStorage#delete}). A store shared by several brokers deletes it
     * first, for all of them (each ends it through {@link #deletedElsewhere}); when it cannot, nothing
     * changes here.
     *
     * @throws BrokerException {@link ErrorCode#NOT_FOUND} when there is no such stream (or it is only
     *     awaited), {@link ErrorCode#UNAVAILABLE} when the store cannot delete streams (nothing is
     *     changed then), or the shared store's error
     * @throws UncheckedIOException when the store failed part way (the stream is gone from the broker)
     */
    public void delete(String name) {
        checkName("stream", name);
        synchronized (this) {
            Stream s = streams.get(name);
            if (s == null || s.isAwaited()) {
                throw new BrokerException(ErrorCode.NOT_FOUND, "no stream '" + name + "'");
            }
            if (storage.shared()) {
                try {
                    storage.delete(name, s.log()); // removes the consumers' positions with the stream
                } catch (IOException e) {
                    throw new UncheckedIOException("the store could not delete stream '" + name + "'", e);
                } catch (UnsupportedOperationException e) {
                    throw new BrokerException(ErrorCode.UNAVAILABLE, e.getMessage());
                }
                forget(s);
                log.info("stream '{}' deleted", name);
                return;
            }
            forget(s);
            try {
                storage.positions().deleteStream(name);
                storage.delete(name, s.log());
            } catch (IOException e) {
                throw new UncheckedIOException("stream '" + name + "' was deleted from the broker, but the store "
                        + "could not remove all of it", e);
            } catch (UnsupportedOperationException e) {
                throw new BrokerException(ErrorCode.UNAVAILABLE, e.getMessage());
            }
            log.info("stream '{}' deleted", name);
        }
    }

    /**
     * Another broker deleted a stream of the store this one shares (DELETE_STREAM there): ends it
     * here as {@link #delete} does (its subscriptions end and its held publishes fail with
     * {@link ErrorCode#NOT_FOUND}); the store has removed its data. Nothing when this registry's
     * stream of that name is not the one over {@code deletedLog} (already ended, or created anew).
     *
     * @return whether a stream was ended here
     */
    public boolean deletedElsewhere(String name, StreamLog deletedLog) {
        synchronized (this) {
            Stream s = streams.get(name);
            if (s == null || s.isAwaited() || s.log() != deletedLog) {
                return false;
            }
            forget(s);
        }
        log.info("stream '{}' was deleted by another broker", name);
        return true;
    }

    /** Under the monitor: marks the stream deleted (ending its subscriptions) and forgets it. */
    private void forget(Stream s) {
        s.delete();
        streams.remove(s.name(), s);
        stored--;
        metrics.streamClosed(s);
    }

    /** The last subscriber of an awaited stream left: forget it unless someone attached meanwhile. */
    private synchronized void dropIfIdle(Stream s) {
        if (s.isAwaited() && s.subscribers() == 0 && streams.remove(s.name(), s)) {
            awaited--;
        }
    }

    /**
     * After recovery cut a stream below what was visible, consumers acknowledged past its new end
     * are moved back to it (their next messages are the new ones at the reused sequences), each
     * named in an ERROR line.
     */
    private java.util.Map<String, ConsumerPositions.Saved> clampConsumers(
            String stream, java.util.Map<String, ConsumerPositions.Saved> saved, long end) {
        java.util.Map<String, ConsumerPositions.Saved> clamped = new java.util.LinkedHashMap<>(saved);
        saved.forEach((name, p) -> {
            if (p.acked() > end) {
                clamped.put(name, new ConsumerPositions.Saved(end, p.maxLag()));
                storage.positions().save(stream, name, end, p.maxLag(), () -> { });
                log.error("consumer '{}' of stream '{}' had acknowledged sequence {}, past the recovered end {}: moved "
                        + "back to {}; the store id changed, so its client sees STORE_CHANGED", name, stream, p.acked(),
                        end, end);
            }
        });
        return clamped;
    }

    /** Under the monitor: opens a stream's log and consumers; turns {@code awaitedStream} (if any) into it. */
    private Stream openStored(String n, Stream awaitedStream) {
        try {
            StreamLog opened = storage.open(n);
            try {
                java.util.Map<String, ConsumerPositions.Saved> saved = storage.positions().load(n);
                if (storage.recoveredBelowVisible(n)) {
                    saved = clampConsumers(n, saved, opened.nextSequence() - 1);
                }
                Stream created;
                if (awaitedStream == null) {
                    created = new Stream(n, opened, storage.committer(n));
                    created.positions(storage.positions(), saved);
                } else {
                    created = awaitedStream;
                    created.create(opened, storage.committer(n), storage.positions(), saved);
                }
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
    }

    /** The stream of that name, or null. */
    public Stream get(String name) {
        return streams.get(name);
    }

    /** Names of the streams that exist (not awaited ones), in order. */
    public java.util.List<String> names() {
        java.util.List<String> names = new java.util.ArrayList<>();
        streams.forEach((name, s) -> {
            if (!s.isAwaited()) {
                names.add(name);
            }
        });
        java.util.Collections.sort(names);
        return names;
    }

    /** Number of streams that exist (not counting awaited ones). */
    public synchronized int size() {
        return stored;
    }

    /** Number of streams awaited by subscribers without existing. */
    public synchronized int awaitedCount() {
        return awaited;
    }

    /** Publishes and subscriptions refused with STREAM_LIMIT. */
    public long refusedByLimit() {
        return refused.get();
    }

    /** The most streams this registry creates. */
    public int maxStreams() {
        return maxStreams;
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
            if (s.isAwaited()) {
                continue;
            }
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
