package dev.wirebus.server.internal.storage;

import dev.wirebus.server.internal.StreamLog;

/**
 * A {@link StreamLog} whose appends reach stable storage when {@link #sync()} says so.
 *
 * <p>Threading: the {@link StreamLog} methods, {@link #enforceRetention()} and {@link #close()}
 * are called by one thread at a time (the stream's lock), as for any stream log. {@link #sync()},
 * {@link #durableSequence()}, {@link #writtenSequence()}, {@link #unsyncedBytes()} and
 * {@link #syncCount()} are safe from any thread at any time, concurrently with appends: that is
 * what lets a background flusher sync while producers keep appending.
 *
 * <p>Durability policies over this interface: {@code never} calls nothing; {@code always} waits
 * for {@link CoalescingSync#awaitDurable} (or a {@link GroupCommitter} with no delay) before
 * acknowledging; {@code batch} registers each acknowledgement with a {@link GroupCommitter}.
 */
public interface DurableStreamLog extends StreamLog, AutoCloseable {

    /**
     * Makes every record appended before this call durable (fdatasync of the segments written since
     * the last sync, and of the directory when a segment was created), then raises
     * {@link #durableSequence()}. Concurrent callers are serialized; a call with nothing new to sync
     * returns without touching the disk.
     *
     * @throws StorageException when an fsync fails; the log then refuses all further appends and syncs
     */
    void sync();

    /** Highest sequence covered by a completed {@link #sync()} (0 when none). */
    long durableSequence();

    /** Highest sequence written to the files (page cache); what the next {@link #sync()} covers at least. */
    long writtenSequence();

    /** Bytes written to the files and not yet covered by a completed sync. */
    long unsyncedBytes();

    /** Number of syncs that reached the disk (fsync calls made by {@link #sync()}); a metric and a test hook. */
    long syncCount();

    /** Deletes whole old segments beyond the retention limits; appends do this too. */
    void enforceRetention();

    /** Closes the files. Does not sync: call {@link #sync()} first for a durable shutdown. Idempotent. */
    @Override
    void close();
}
