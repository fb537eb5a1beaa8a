package dev.wirebus.server.internal;

import dev.wirebus.protocol.RecordBatch;

import java.util.List;

/**
 * Storage of one stream's records, addressed by sequence. Implementations need not be thread-safe:
 * {@link Stream} calls them under its lock. The in-memory log is the first implementation; the
 * durable disk log and a Redis Streams log fit the same shape.
 */
public interface StreamLog {
    /** Appends the records at {@link #nextSequence()} and returns the sequence of the first. */
    long append(RecordBatch records);

    /**
     * Appends a producer's batch like {@link #append(RecordBatch)}, stored with the producer's id
     * and sequence, and records it in {@link #producers()}. A durable log keeps the stamp with the
     * records, so the table is rebuilt after a restart.
     */
    long append(RecordBatch records, String producerId, long producerSequence);

    /** The stream's idempotent producers, as of the last append (rebuilt from storage on first use). */
    ProducerTable producers();

    /**
     * Drops records below {@code before} as far as the log's granularity allows (whole batches or
     * segments; never a record at or above {@code before}); TRIM_STREAM.
     *
     * @return the first sequence retained after it
     * @throws UnsupportedOperationException when this log cannot trim on demand
     */
    default long trimBefore(long before) {
        throw new UnsupportedOperationException("this store cannot trim a stream on demand");
    }

    /** Payload bytes retained, as far as the log counts them (0 when it does not); for STREAMS listings. */
    default long retainedBytes() {
        return 0;
    }

    /**
     * Judges idempotent producers' batches before they are appended: {@link #producers()} unless a
     * store keeps producer state elsewhere (shared by the nodes appending to it).
     */
    default ProducerCheck producerCheck() {
        return producers();
    }

    /** Sequence of the oldest retained record ({@link #nextSequence()} when empty). */
    long firstSequence();

    /**
     * The first retained sequence as the storage knows it at this moment, for a refusal that names
     * it: a log shared by several brokers may have dropped more than this broker's view of it shows.
     * It may block for one round trip to the store; by default {@link #firstSequence()}.
     */
    default long firstRetainedNow() {
        return firstSequence();
    }

    /** Sequence the next appended record will get (last sequence + 1). */
    long nextSequence();

    /**
     * Adds slices covering records from {@code from} (which is retained and below
     * {@link #nextSequence()}) onwards, at most {@code maxRecords} records and at most
     * {@code maxBytes} bytes of records (length prefixes included), except that the first record is
     * taken whatever its size.
     *
     * @return the number of records added
     */
    int read(long from, int maxRecords, int maxBytes, List<Slice> out);

    /** Records {@code [from, to)} of {@code batch}, whose first record has {@code firstSequence}. */
    record Slice(long firstSequence, RecordBatch batch, int from, int to) {
        public int count() {
            return to - from;
        }

        public int bytes() {
            return batch.sizeInBytes(from, to);
        }
    }
}
