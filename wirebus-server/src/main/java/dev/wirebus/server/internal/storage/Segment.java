package dev.wirebus.server.internal.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * One segment of a log: the file {@code <base sequence, 20 digits>.log} holding contiguous entries
 * from its base sequence, and its index {@code <base>.idx}. Holds what the log knows about it
 * (valid size, next sequence, the oldest and newest append times) and, while open, its channel
 * and index.
 *
 * <p>Threading: confined to the owning log's thread (the stream's lock); the log shares only the
 * active segment's channel with its sync path, under its own lock. Lifecycle: created by recovery
 * or by a roll; files opened lazily for reads and closed by {@link #closeFiles()}.
 */
final class Segment {
    static final String LOG_SUFFIX = ".log";
    static final String INDEX_SUFFIX = ".idx";
    static final String PRODUCERS_SUFFIX = ".producers";
    private static final int NAME_DIGITS = 20;
    private static final Logger LOG = LoggerFactory.getLogger(Segment.class);

    final long baseSequence;
    final Path logPath;
    final Path indexPath;
    /** Snapshot of the producer table as it was before this segment's first entry (may be absent). */
    final Path producersPath;
    /** Bytes of valid entries: where the next entry goes. */
    long size;
    /** Sequence after the last entry. */
    long nextSequence;
    /** Append time of the first entry, or {@link Long#MIN_VALUE} when unknown or empty. */
    long oldestTimestamp = Long.MIN_VALUE;
    /** Latest append time of any entry, or {@link Long#MIN_VALUE} when unknown or empty. */
    long newestTimestamp = Long.MIN_VALUE;
    /** Open channel (read-write for the active segment), or null. */
    FileChannel channel;
    /** Index in memory, or null while not loaded. */
    OffsetIndex index;

    Segment(Path directory, long baseSequence) {
        this.baseSequence = baseSequence;
        String stem = String.format("%0" + NAME_DIGITS + "d", baseSequence);
        this.logPath = directory.resolve(stem + LOG_SUFFIX);
        this.indexPath = directory.resolve(stem + INDEX_SUFFIX);
        this.producersPath = directory.resolve(stem + PRODUCERS_SUFFIX);
        this.nextSequence = baseSequence;
    }

    /** The base sequence named by a segment file name, or -1 when it is not one. */
    static long parseBase(String fileName) {
        if (fileName.length() != NAME_DIGITS + LOG_SUFFIX.length() || !fileName.endsWith(LOG_SUFFIX)) {
            return -1;
        }
        for (int i = 0; i < NAME_DIGITS; i++) {
            if (fileName.charAt(i) < '0' || fileName.charAt(i) > '9') {
                return -1;
            }
        }
        try {
            long base = Long.parseLong(fileName.substring(0, NAME_DIGITS));
            return base >= 1 ? base : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Records an entry appended or found at the end. */
    void noteEntry(long entryBytes, int count, long timestamp) {
        if (size == 0) {
            oldestTimestamp = timestamp;
        }
        size += entryBytes;
        nextSequence += count;
        newestTimestamp = Math.max(newestTimestamp, timestamp);
    }

    /** Closes the channel and index file, keeping what is known about the segment. */
    void closeFiles() {
        if (index != null) {
            index.close();
            index = null;
        }
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                LOG.warn("Closing {} failed: {}", logPath, e.toString());
            }
            channel = null;
        }
    }

    @Override
    public String toString() {
        return logPath.getFileName() + "[" + baseSequence + ".." + (nextSequence - 1) + ", " + size + " bytes]";
    }
}
