package dev.wirebus.server.internal;

import java.util.Map;

/**
 * Where durable consumers' acknowledged positions are kept. Called under a stream's lock: saving
 * must not block; {@code onStored} runs once the position is as durable as the storage keeps it.
 */
public interface ConsumerPositions {
    /** A consumer's stored position and gate. */
    record Saved(long acked, int maxLag) {
    }

    /** Keeps nothing beyond the broker's life (memory storage). */
    ConsumerPositions NONE = new ConsumerPositions() {
        @Override
        public Map<String, Saved> load(String stream) {
            return Map.of();
        }

        @Override
        public void save(String stream, String consumer, long acked, int maxLag, Runnable onStored) {
            onStored.run();
        }
    };

    /** The consumers stored for a stream. */
    Map<String, Saved> load(String stream) throws java.io.IOException;

    /** Stores a consumer's position (replacing the previous one). */
    void save(String stream, String consumer, long acked, int maxLag, Runnable onStored);

    /** Forgets a consumer (DELETE_CONSUMER); nothing to do where positions are not kept. */
    default void delete(String stream, String consumer) {
    }

    /**
     * Forgets every consumer of a stream and removes their stored positions before returning
     * (DELETE_STREAM); nothing to do where positions are not kept.
     */
    default void deleteStream(String stream) throws java.io.IOException {
    }
}
