package dev.wirebus.server.internal;

import dev.wirebus.server.internal.storage.GroupCommitter;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Streams in memory, retained by count and bytes; a new store (and store id) at every start. */
public final class MemoryStorage implements StreamStorage {
    private final dev.wirebus.server.BrokerConfig config;
    /** A new one when a stream is deleted (a new epoch, see {@link StreamStorage#delete}). */
    private volatile long storeId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);

    public MemoryStorage(dev.wirebus.server.BrokerConfig config) {
        this.config = config;
    }

    @Override
    public StreamLog open(String stream) {
        return new InMemoryStreamLog(config.retentionMessages(stream), config.retentionBytes(stream));
    }

    @Override
    public List<String> existing() {
        return List.of();
    }

    @Override
    public GroupCommitter committer(String stream) {
        return null;
    }

    @Override
    public ConsumerPositions positions() {
        return ConsumerPositions.NONE;
    }

    /** The records go with the log object; only the epoch changes. */
    @Override
    public void delete(String stream, StreamLog log) {
        long old = storeId;
        long fresh;
        do {
            fresh = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        } while (fresh == old);
        storeId = fresh;
    }

    @Override
    public long storeId() {
        return storeId;
    }

    @Override
    public String describe() {
        return "memory";
    }

    @Override
    public void close() {
    }
}
