package dev.wirebus.server.internal.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * The sparse index of one segment: the base sequence and file position of an entry whenever at
 * least {@code intervalBytes} were written since the previous indexed entry (and always of the
 * first entry). The file ({@code .idx}) is a run of 16-byte records, {@code [u64 sequence][u64
 * position]} big-endian, without header.
 *
 * <p>The index is a cache of what the log file says: it is never fsynced, {@link #load} keeps only
 * its plausible prefix, and recovery checks its last entry against the log and extends it by
 * scanning. A failed write to it is logged and stops further writes; the next open rebuilds what
 * is missing.
 *
 * <p>Threading: confined to the owning log's thread (the stream's lock). Lifecycle: created or
 * loaded in memory; {@link #startAppending()} opens the file to append new entries (the active
 * segment), {@link #close()} closes it.
 */
final class OffsetIndex implements AutoCloseable {
    static final int RECORD_BYTES = 16;
    private static final Logger LOG = LoggerFactory.getLogger(OffsetIndex.class);

    private final Path path;
    private final int intervalBytes;
    private long[] sequences = new long[16];
    private long[] positions = new long[16];
    private int size;
    /** The file matches the entries in memory. */
    private boolean persisted;
    /** Open while appending; null otherwise or after a write failed. */
    private FileChannel file;

    private OffsetIndex(Path path, int intervalBytes) {
        this.path = path;
        this.intervalBytes = intervalBytes;
    }

    /** An empty index, not yet written. */
    static OffsetIndex empty(Path path, int intervalBytes) {
        return new OffsetIndex(path, intervalBytes);
    }

    /**
     * The plausible prefix of the index file of a segment starting at {@code baseSequence} whose
     * file is {@code segmentSize} bytes: entries start at (base, 0), rise strictly in sequence and
     * position, and point inside the file. Empty when the file is missing.
     */
    static OffsetIndex load(Path path, int intervalBytes, long baseSequence, long segmentSize) throws IOException {
        OffsetIndex index = new OffsetIndex(path, intervalBytes);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            return index;
        }
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        int records = bytes.length / RECORD_BYTES;
        for (int i = 0; i < records; i++) {
            long seq = buf.getLong(i * RECORD_BYTES);
            long pos = buf.getLong(i * RECORD_BYTES + 8);
            boolean plausible = i == 0
                    ? seq == baseSequence && pos == 0
                    : seq > index.sequences[i - 1] && pos >= index.positions[i - 1] + EntryFormat.HEADER_BYTES;
            if (!plausible || pos > segmentSize - EntryFormat.HEADER_BYTES) {
                break;
            }
            index.append(seq, pos);
        }
        index.persisted = index.size * RECORD_BYTES == bytes.length;
        return index;
    }

    int size() {
        return size;
    }

    /** Whether the file is open for appending. */
    boolean isOpen() {
        return file != null;
    }

    long sequence(int i) {
        return sequences[i];
    }

    long position(int i) {
        return positions[i];
    }

    /** Index of the last entry whose sequence is at most {@code seq}, or -1. */
    int floor(long seq) {
        int i = Arrays.binarySearch(sequences, 0, size, seq);
        return i >= 0 ? i : -i - 2;
    }

    /**
     * Notes the entry at {@code position} (past every indexed one) with base sequence {@code seq},
     * indexing it when it is the first or far enough from the last indexed one.
     */
    void maybeAdd(long seq, long position) {
        if (size > 0 && (position <= positions[size - 1] || position - positions[size - 1] < intervalBytes)) {
            return;
        }
        append(seq, position);
        if (file != null) {
            ByteBuffer record = ByteBuffer.allocate(RECORD_BYTES).putLong(seq).putLong(position).flip();
            try {
                writeFully(file, record, (long) (size - 1) * RECORD_BYTES);
            } catch (IOException e) {
                LOG.warn("Stopped writing index {} after a failed write ({}); it is rebuilt on the next open",
                        path, e.toString());
                closeQuietly();
            }
        } else {
            persisted = false;
        }
    }

    /**
     * Notes that the file already holds this index when {@code stored}, loaded from it, has the
     * same entries and the whole file, so {@link #persist()} need not rewrite it.
     */
    void keepFileIfSameAs(OffsetIndex stored) {
        persisted = stored.persisted && stored.size == size
                && Arrays.equals(stored.sequences, 0, size, sequences, 0, size)
                && Arrays.equals(stored.positions, 0, size, positions, 0, size);
    }

    /** Keeps the first {@code n} entries. */
    void truncate(int n) {
        if (n < size) {
            size = n;
            persisted = false;
        }
    }

    /** Writes the index file afresh when it differs from the entries in memory. */
    void persist() throws IOException {
        if (persisted) {
            return;
        }
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, encodeAll(), 0);
        }
        persisted = true;
    }

    /** Persists the index and keeps its file open so that {@link #maybeAdd} writes new entries through. */
    void startAppending() throws IOException {
        persist();
        file = FileChannel.open(path, StandardOpenOption.WRITE);
    }

    /** Closes the file if open; the entries in memory stay usable. */
    @Override
    public void close() {
        closeQuietly();
    }

    private void closeQuietly() {
        FileChannel f = file;
        file = null;
        if (f != null) {
            try {
                f.close();
            } catch (IOException e) {
                LOG.warn("Closing index {} failed: {}", path, e.toString());
            }
        }
    }

    private void append(long seq, long position) {
        if (size == sequences.length) {
            sequences = Arrays.copyOf(sequences, size * 2);
            positions = Arrays.copyOf(positions, size * 2);
        }
        sequences[size] = seq;
        positions[size] = position;
        size++;
    }

    private ByteBuffer encodeAll() {
        ByteBuffer buf = ByteBuffer.allocate(size * RECORD_BYTES);
        for (int i = 0; i < size; i++) {
            buf.putLong(sequences[i]).putLong(positions[i]);
        }
        return buf.flip();
    }

    static void writeFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            pos += channel.write(buf, pos);
        }
    }
}
