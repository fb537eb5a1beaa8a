package dev.wirebus.server.internal;

import dev.wirebus.server.internal.storage.GroupCommitter;

import java.io.IOException;
import java.util.List;

/**
 * Where a broker's streams live: opens each stream's log, names the streams found at start, and
 * says how appends become durable. {@link MemoryStorage} and {@link DiskStorage} implement it; a
 * Redis-backed storage fits the same shape.
 */
public interface StreamStorage extends AutoCloseable {
    /** Opens (creating if new) the log of a stream. */
    StreamLog open(String stream) throws IOException;

    /** Streams that exist at start (recovered from the store). */
    List<String> existing() throws IOException;

    /**
     * Syncs appends before they are acknowledged and shown to subscribers, or null when appends
     * count as done once written (memory, or disk with durability {@code never}).
     */
    GroupCommitter committer(String stream);

    /** Where durable consumers' positions are kept. */
    ConsumerPositions positions();

    /** Identifies the store across restarts; sent in WELCOME. */
    long storeId();

    /** A short description for the start-up lines ("memory", "disk /var/lib/wirebus (batch, 5 ms)"). */
    String describe();

    /** Tells {@code nanos} the duration of each sync that reached the disk (a metric); none by default. */
    default void observeSyncs(java.util.function.LongConsumer nanos) {
    }

    /**
     * At shutdown, before connections close: completes pending syncs (their acknowledgements go out)
     * and writes pending consumer positions. Appends after this are not synced by the committer.
     */
    default void settle() {
    }

    /**
     * Whether recovery of this stream's log cut records at or below the highest sequence it had
     * made visible (the store then changed its epoch, see {@link #storeId()}).
     */
    default boolean recoveredBelowVisible(String stream) {
        return false;
    }

    /** Counts of damage found and resources used, for the metrics; all zero by default. */
    default StorageHealth health() {
        return StorageHealth.NONE;
    }

    /**
     * Hands the store the broker's streams once they exist, before clients connect: a store shared by
     * several brokers opens there the streams other brokers create. Nothing by default.
     */
    default void bind(StreamRegistry streams) {
    }

    /**
     * Whether several brokers share this store: a subscription then opens the stored stream (which
     * another broker may append to) instead of waiting on a placeholder. False by default.
     */
    default boolean shared() {
        return false;
    }

    /**
     * Deletes a stream's records (DELETE_STREAM): closes {@code log} and removes what the store
     * holds of it, then changes {@link #storeId()} (a new epoch) so that a client resuming by
     * sequence after a reconnect sees STORE_CHANGED instead of the recreated stream's sequences.
     * The registry has removed the stream and its consumers' positions first; a {@link #shared()}
     * store is called before that, removes the positions itself, and may refuse (a
     * {@code BrokerException}, nothing changed), and tells the other brokers sharing it, whose
     * registries then end the stream ({@link StreamRegistry#deletedElsewhere}). Called under the
     * registry's monitor.
     *
     * @throws UnsupportedOperationException naming why when this store cannot delete a stream
     */
    default void delete(String stream, StreamLog log) throws IOException {
        throw new UnsupportedOperationException("this store (" + describe() + ") cannot delete a stream");
    }

    /** Completes pending syncs and releases the store. Logs are closed by their streams first. */
    @Override
    void close();
}
