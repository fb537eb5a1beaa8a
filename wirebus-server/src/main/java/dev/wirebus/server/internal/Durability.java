package dev.wirebus.server.internal;

import dev.wirebus.server.internal.storage.DurableStreamLog;
import dev.wirebus.server.internal.storage.GroupCommitter;

/**
 * When appended records count as stored as the broker's durability policy asks, so they may be
 * acknowledged and shown to subscribers (the fsync watermark, see {@link Visibility}). Local disk
 * with a sync policy waits for a {@link GroupCommitter}; memory, and disk with durability
 * {@code never}, count records as stored once written ({@link #IMMEDIATE}); a remote store would
 * answer once the store confirmed the append. Called under the stream's lock.
 */
public interface Durability {
    /** Records count as stored once appended. */
    Durability IMMEDIATE = (lastSequence, onStored) -> false;

    /**
     * Arranges for {@code onStored} once every record up to {@code lastSequence} is stored (or
     * failed to be), on another thread, in sequence order per stream.
     *
     * @return false when the records already count as stored: {@code onStored} is not called and the
     *     caller goes on at once
     */
    boolean awaitStored(long lastSequence, GroupCommitter.Callback onStored);

    /**
     * The durability of {@code log}: waits for {@code committer} when the log is durable and there
     * is a committer, else {@link #IMMEDIATE}.
     */
    static Durability of(StreamLog log, GroupCommitter committer) {
        if (committer == null || !(log instanceof DurableStreamLog durable)) {
            return IMMEDIATE;
        }
        return (lastSequence, onStored) -> {
            if (committer.register(durable, lastSequence, onStored)) {
                return true;
            }
            durable.sync(); // the committer is saturated: sync here rather than lose the wait
            return false;
        };
    }
}
