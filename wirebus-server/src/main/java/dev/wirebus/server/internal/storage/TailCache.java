package dev.wirebus.server.internal.storage;

import dev.wirebus.protocol.RecordBatch;

/**
 * The most recently appended batches, as producers sent them, up to a budget of record bytes, so
 * that subscribers reading the tail of a stream do not touch the disk. The cached batches are
 * always a suffix of the log: a batch larger than the whole budget empties the cache.
 *
 * <p>Threading: confined to the owning log's thread (the stream's lock).
 */
final class TailCache {
    /** A batch and the sequence of its first record. */
    record Entry(long firstSequence, RecordBatch batch) {
        long nextSequence() {
            return firstSequence + batch.count();
        }

        boolean contains(long seq) {
            return seq >= firstSequence && seq < nextSequence();
        }
    }

    private final long maxBytes;
    private Entry[] ring = new Entry[16];
    private int head;
    private int size;
    private long bytes;

    TailCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** Adds the newest batch, evicting the oldest ones beyond the budget. */
    void add(long firstSequence, RecordBatch batch) {
        if (batch.sizeInBytes() > maxBytes) {
            clear();
            return;
        }
        if (size == ring.length) {
            Entry[] bigger = new Entry[ring.length * 2];
            for (int i = 0; i < size; i++) {
                bigger[i] = at(i);
            }
            ring = bigger;
            head = 0;
        }
        ring[(head + size) % ring.length] = new Entry(firstSequence, batch);
        size++;
        bytes += batch.sizeInBytes();
        while (bytes > maxBytes) {
            removeOldest();
        }
    }

    /** The cached batch holding {@code seq}, or null when it is older than the cache. */
    Entry find(long seq) {
        if (size == 0 || seq < at(0).firstSequence() || seq >= at(size - 1).nextSequence()) {
            return null;
        }
        int lo = 0;
        int hi = size - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (at(mid).firstSequence() <= seq) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return at(lo);
    }

    /** Drops batches that end at or before {@code seq} (no longer retained). */
    void dropBefore(long seq) {
        while (size > 0 && at(0).nextSequence() <= seq) {
            removeOldest();
        }
    }

    void clear() {
        while (size > 0) {
            removeOldest();
        }
    }

    private Entry at(int i) {
        return ring[(head + i) % ring.length];
    }

    private void removeOldest() {
        bytes -= ring[head].batch().sizeInBytes();
        ring[head] = null;
        head = (head + 1) % ring.length;
        size--;
    }
}
