package dev.wirebus.server.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A stream's durable consumers: each one's acknowledged sequence, maximum lag (0: it gates
 * nothing) and open subscriptions, saved to {@link ConsumerPositions} when they change. As a
 * {@link LagLimit} it says whether more records keep every gating consumer within its lag.
 *
 * <p>Not thread-safe: guarded by the stream's lock. Positions are saved under it (the saving itself
 * is asynchronous, see {@link ConsumerPositions#save}).
 */
final class ConsumerStates implements LagLimit {
    /** One consumer, as reported by CONSUMERS. */
    record Snapshot(String name, long acked, int maxLag, boolean connected) {
    }

    /** One consumer's state. */
    static final class State {
        final String name;
        long acked;
        int maxLag;
        int connected;

        State(String name, long acked, int maxLag) {
            this.name = name;
            this.acked = acked;
            this.maxLag = maxLag;
        }
    }

    private final String stream;
    private final Map<String, State> consumers = new LinkedHashMap<>();
    private ConsumerPositions positions = ConsumerPositions.NONE;

    ConsumerStates(String stream) {
        this.stream = stream;
    }

    /** Takes consumers saved before (replacing any of the same name) and where to save changes. */
    void load(ConsumerPositions p, Map<String, ConsumerPositions.Saved> saved) {
        positions = p;
        saved.forEach((n, v) -> consumers.put(n, new State(n, v.acked(), v.maxLag())));
    }

    /**
     * Moves to a new store (an awaited stream was created): takes saved consumers not known yet and
     * saves every consumer there.
     */
    void moveTo(ConsumerPositions p, Map<String, ConsumerPositions.Saved> saved) {
        positions = p;
        saved.forEach((n, v) -> consumers.putIfAbsent(n, new State(n, v.acked(), v.maxLag())));
        for (State c : consumers.values()) {
            p.save(stream, c.name, c.acked, c.maxLag, () -> { });
        }
    }

    /** The consumer of that name, or null. */
    State get(String name) {
        return consumers.get(name);
    }

    /** Names of every consumer, oldest first. */
    List<String> names() {
        return new ArrayList<>(consumers.keySet());
    }

    /** Adds a new consumer with everything up to {@code acked} handled, and saves it. */
    State add(String name, long acked, int maxLag) {
        State c = new State(name, acked, maxLag);
        consumers.put(name, c);
        positions.save(stream, name, acked, maxLag, () -> { });
        return c;
    }

    /** Changes a consumer's maximum lag; returns whether it changed (and was saved). */
    boolean maxLag(State c, int maxLag) {
        if (c.maxLag == maxLag) {
            return false;
        }
        c.maxLag = maxLag;
        positions.save(stream, c.name, c.acked, maxLag, () -> { });
        return true;
    }

    /**
     * Removes a consumer no subscription is attached to, and forgets its saved position.
     *
     * @return false when there is no such consumer
     * @throws BrokerException INVALID_ARGUMENT while a subscription is attached to it
     */
    boolean remove(String name) {
        State c = consumers.get(name);
        if (c == null) {
            return false;
        }
        if (c.connected > 0) {
            throw new BrokerException(dev.wirebus.protocol.ErrorCode.INVALID_ARGUMENT, "consumer '" + name
                    + "' of stream '" + stream + "' is attached; close its subscriptions first");
        }
        consumers.remove(name);
        positions.delete(stream, name);
        return true;
    }

    /** Forgets every consumer in memory (DELETE_STREAM; the registry has the store drop their positions). */
    void clear() {
        consumers.clear();
    }

    /** A subscription of the consumer ended. */
    void detach(String name) {
        State c = consumers.get(name);
        if (c != null && c.connected > 0) {
            c.connected--;
        }
    }

    /**
     * Records that the consumer handled everything up to {@code upTo}, never moving back; runs
     * {@code onStored} once the position is saved, or at once when nothing moved.
     *
     * @return whether the position moved (publishes it held back may go now)
     */
    boolean acknowledge(String name, long upTo, Runnable onStored, List<Runnable> after) {
        State c = consumers.get(name);
        if (c == null || upTo <= c.acked) {
            after.add(onStored);
            return false;
        }
        c.acked = upTo;
        positions.save(stream, name, upTo, c.maxLag, onStored);
        return true;
    }

    /** Records after the consumer's acknowledged sequence (NaN when there is no such consumer). */
    double lag(String name, long lastSequence) {
        State c = consumers.get(name);
        return c == null ? Double.NaN : Math.max(0, lastSequence - c.acked);
    }

    /** The consumer's acknowledged sequence (NaN when there is no such consumer). */
    double acked(String name) {
        State c = consumers.get(name);
        return c == null ? Double.NaN : c.acked;
    }

    /** Every consumer, oldest first. */
    List<Snapshot> snapshot() {
        List<Snapshot> list = new ArrayList<>(consumers.size());
        for (State c : consumers.values()) {
            list.add(new Snapshot(c.name, c.acked, c.maxLag, c.connected > 0));
        }
        return list;
    }

    @Override
    public boolean allows(long lastSequence, int count) {
        for (State c : consumers.values()) {
            if (c.maxLag > 0 && lastSequence > c.acked && lastSequence + count - c.acked > c.maxLag) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String describe(long lastSequence) {
        StringBuilder b = new StringBuilder();
        for (State c : consumers.values()) {
            if (c.maxLag > 0 && lastSequence - c.acked >= 1) {
                if (b.length() > 0) {
                    b.append(", ");
                }
                b.append("consumer '").append(c.name).append("' (lag ").append(lastSequence - c.acked)
                        .append(", max lag ").append(c.maxLag).append(')');
            }
        }
        return b.toString();
    }
}
