package dev.wirebus.server.internal;

import dev.wirebus.server.internal.storage.GroupCommitter;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** Streams in memory, retained by count and bytes; a new store (and store id) at every start. */
public final class MemoryStorage implements StreamStorage {
    private final long retentionMessages;
    private final long retentionBytes;
    private final long storeId = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);

    public MemoryStorage(long retentionMessages, long retentionBytes) {
        this.retentionMessages = retentionMessages;
        this.retentionBytes = retentionBytes;
    }

    @Override
    public StreamLog open(String stream) {
        return new InMemoryStreamLog(retentionMessages, retentionBytes);
    }

    @Override
    public List<String> existing() {
        return List.of();
    }

    @Override
    public GroupCommitter committer() {
        return null;
    }

    @Override
    public ConsumerPositions positions() {
        return ConsumerPositions.NONE;
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
