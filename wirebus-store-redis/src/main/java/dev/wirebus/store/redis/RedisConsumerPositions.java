package dev.wirebus.store.redis;

import dev.wirebus.server.internal.ConsumerPositions;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Durable consumers' positions in Redis: per stream a hash {@code consumer -> "acked:maxLag"} next
 * to the stream (same slot), written by {@code position.lua}, which never moves a position back (two
 * brokers may save the same consumer while it moves between them) and announces the acknowledgement
 * to every broker, whose held publishes may then pass the gate.
 *
 * <p>A save carries the generation of the stream's log on this broker: once the stream was deleted
 * (by any broker) the script stores nothing ({@code GONE}), so a late acknowledgement never gives the
 * stream created anew a consumer of the deleted one; the acknowledgement is answered as for a
 * consumer that no longer exists.
 *
 * <p>A save that fails (Redis unreachable) is kept, the latest per consumer, and written again by
 * {@link #retryFailed()}; its {@code onStored} runs only once Redis has it.
 */
final class RedisConsumerPositions implements ConsumerPositions {
    private final RedisStorage store;
    /** Guarded by itself: saves that failed, the latest per stream and consumer. */
    private final Map<List<String>, Failed> failed = new HashMap<>();

    private record Failed(long acked, int maxLag, long generation, List<Runnable> onStored) {
    }

    RedisConsumerPositions(RedisStorage store) {
        this.store = store;
    }

    @Override
    public Map<String, Saved> load(String stream) {
        Map<String, byte[]> all = store.sync(store.commands().hgetall(store.keys(stream)[3]),
                "read the consumers of stream '" + stream + "'");
        Map<String, Saved> out = new LinkedHashMap<>();
        all.forEach((name, v) -> out.put(name, parse(v)));
        return out;
    }

    /** One consumer's stored position, or null. Blocking. */
    Saved loadOne(String stream, String consumer) {
        byte[] v = store.sync(store.commands().hget(store.keys(stream)[3], consumer),
                "read consumer '" + consumer + "' of stream '" + stream + "'");
        return v == null ? null : parse(v);
    }

    private static Saved parse(byte[] v) {
        String s = new String(v, StandardCharsets.US_ASCII);
        int colon = s.indexOf(':');
        return new Saved(Long.parseLong(s.substring(0, colon)), Integer.parseInt(s.substring(colon + 1)));
    }

    @Override
    public void save(String stream, String consumer, long acked, int maxLag, Runnable onStored) {
        List<Runnable> callbacks = new ArrayList<>(1);
        callbacks.add(onStored);
        write(stream, consumer, acked, maxLag, store.generation(stream), callbacks);
    }

    private void write(String stream, String consumer, long acked, int maxLag, long generation,
                       List<Runnable> onStored) {
        String[] keys = {store.keys(stream)[3], store.keys(stream)[1]};
        store.position().run(store.commands(), keys, b(consumer), b(Long.toString(acked)), b(Integer.toString(maxLag)),
                        b(store.eventsChannel()), b(stream), b(Long.toString(generation)))
                .whenComplete((reply, failure) -> {
                    if (failure != null) {
                        store.positionFailed(stream, consumer, failure);
                        synchronized (failed) {
                            Failed earlier = failed.get(List.of(stream, consumer));
                            List<Runnable> all = new ArrayList<>(onStored);
                            long a = acked;
                            if (earlier != null && earlier.generation() == generation) {
                                all.addAll(earlier.onStored());
                                a = Math.max(a, earlier.acked());
                            }
                            failed.put(List.of(stream, consumer), new Failed(a, maxLag, generation, all));
                        }
                        return;
                    }
                    if (!reply.isEmpty() && LuaScript.text(reply.get(0)).equals("GONE")) {
                        // the stream was deleted: nothing to store, as for a consumer deleted with it
                        store.deletedGeneration(stream, generation);
                        onStored.forEach(Runnable::run);
                        return;
                    }
                    onStored.forEach(Runnable::run);
                    store.acknowledged(stream);
                });
    }

    /** Writes again the saves that failed (Redis is back, or the periodic check). */
    void retryFailed() {
        Map<List<String>, Failed> again;
        synchronized (failed) {
            if (failed.isEmpty()) {
                return;
            }
            again = new HashMap<>(failed);
            failed.clear();
        }
        again.forEach((k, f) -> write(k.get(0), k.get(1), f.acked(), f.maxLag(), f.generation(), f.onStored()));
    }

    /**
     * The stream was deleted: saves of that generation that failed are not written again (their
     * acknowledgements are answered, as for a consumer deleted with it).
     */
    void forget(String stream, long generation) {
        List<Runnable> answered = new ArrayList<>();
        synchronized (failed) {
            for (java.util.Iterator<Map.Entry<List<String>, Failed>> it = failed.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<List<String>, Failed> e = it.next();
                if (e.getKey().get(0).equals(stream) && e.getValue().generation() == generation) {
                    answered.addAll(e.getValue().onStored());
                    it.remove();
                }
            }
        }
        answered.forEach(Runnable::run);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
