package dev.wirebus.server.internal.storage;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Options of one {@link SegmentedFileLog}: where it lives, how it cuts its segments and indexes
 * them, what it retains, and how much of its tail it keeps in memory. Validated on construction;
 * {@link Long#MAX_VALUE} means "no limit" for the three retention limits.
 *
 * <p>Immutable and safe to share between threads.
 *
 * @param directory the stream's own directory (created if missing); nothing else may write there
 * @param segmentBytes a segment is rolled before an append would take it past this size (an entry
 *     larger than this gets a segment of its own)
 * @param indexIntervalBytes a segment's sparse index gets an entry when at least this many bytes
 *     were written since its previous entry; 0 indexes every entry
 * @param retentionMessages oldest whole segments are deleted while more records than this are retained
 * @param retentionBytes oldest whole segments are deleted while their files hold more bytes than this
 * @param retentionAgeMillis a segment whose newest entry is older than this is deleted; the active
 *     segment is rolled once its oldest entry is this old, so a quiet stream ages out too
 * @param tailCacheBytes the most recently appended batches, up to this many bytes of records, are
 *     kept in memory so readers of the tail do not touch the disk; 0 disables the cache
 */
public record StoreConfig(
        Path directory,
        long segmentBytes,
        int indexIntervalBytes,
        long retentionMessages,
        long retentionBytes,
        long retentionAgeMillis,
        long tailCacheBytes) {

    public static final long DEFAULT_SEGMENT_BYTES = 64L << 20;
    public static final int DEFAULT_INDEX_INTERVAL_BYTES = 4 << 10;
    public static final long DEFAULT_TAIL_CACHE_BYTES = 4L << 20;
    /** Smallest segment size accepted (small segments are for tests). */
    public static final long MIN_SEGMENT_BYTES = 256;
    /** Largest segment size accepted. */
    public static final long MAX_SEGMENT_BYTES = 1L << 30;
    /** The value of a retention limit that does not limit. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    public StoreConfig {
        Objects.requireNonNull(directory, "directory");
        if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("segmentBytes must be between " + MIN_SEGMENT_BYTES + " and "
                    + MAX_SEGMENT_BYTES + ", was " + segmentBytes);
        }
        if (indexIntervalBytes < 0) {
            throw new IllegalArgumentException("indexIntervalBytes must be at least 0, was " + indexIntervalBytes);
        }
        requirePositive("retentionMessages", retentionMessages);
        requirePositive("retentionBytes", retentionBytes);
        requirePositive("retentionAgeMillis", retentionAgeMillis);
        if (tailCacheBytes < 0) {
            throw new IllegalArgumentException("tailCacheBytes must be at least 0, was " + tailCacheBytes);
        }
    }

    private static void requirePositive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, was " + value);
        }
    }

    /** Defaults: 64 MiB segments, an index entry every 4 KiB, no retention limit, a 4 MiB tail cache. */
    public static StoreConfig defaults(Path directory) {
        return new StoreConfig(directory, DEFAULT_SEGMENT_BYTES, DEFAULT_INDEX_INTERVAL_BYTES, UNLIMITED, UNLIMITED,
                UNLIMITED, DEFAULT_TAIL_CACHE_BYTES);
    }

    public StoreConfig withSegmentBytes(long bytes) {
        return new StoreConfig(directory, bytes, indexIntervalBytes, retentionMessages, retentionBytes,
                retentionAgeMillis, tailCacheBytes);
    }

    public StoreConfig withIndexIntervalBytes(int bytes) {
        return new StoreConfig(directory, segmentBytes, bytes, retentionMessages, retentionBytes,
                retentionAgeMillis, tailCacheBytes);
    }

    public StoreConfig withRetention(long messages, long bytes, long ageMillis) {
        return new StoreConfig(directory, segmentBytes, indexIntervalBytes, messages, bytes, ageMillis,
                tailCacheBytes);
    }

    public StoreConfig withTailCacheBytes(long bytes) {
        return new StoreConfig(directory, segmentBytes, indexIntervalBytes, retentionMessages, retentionBytes,
                retentionAgeMillis, bytes);
    }
}
