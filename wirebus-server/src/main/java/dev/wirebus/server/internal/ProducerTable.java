package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one stream remembers of its idempotent producers: per producer id, the highest producer
 * sequence appended and where the last {@link #REMEMBERED_BATCHES} batches landed. It decides
 * whether a publish is new, a duplicate (answered with its original sequences), or out of order.
 *
 * <p>Bounded: at most {@link #maxProducers} producers, the least recently appending forgotten
 * first. Not thread-safe: the stream's log owns it and calls it under the stream's lock.
 */
public final class ProducerTable implements ProducerCheck {
    /** Batches remembered per producer, newest last. */
    public static final int REMEMBERED_BATCHES = 32;
    /** Producers remembered per stream by default. */
    public static final int DEFAULT_MAX_PRODUCERS = 100_000;

    /** Where an earlier batch of a producer landed. */
    public record Appended(long firstSequence, int count) {
    }

    private static final class Producer {
        long lastProducerSequence;
        final long[] producerSequences = new long[REMEMBERED_BATCHES];
        final long[] firstSequences = new long[REMEMBERED_BATCHES];
        final int[] counts = new int[REMEMBERED_BATCHES];
        int size;
        int head; // index of the oldest

        void add(long producerSequence, long first, int count) {
            int at = (head + size) % REMEMBERED_BATCHES;
            if (size == REMEMBERED_BATCHES) {
                head = (head + 1) % REMEMBERED_BATCHES;
            } else {
                size++;
            }
            producerSequences[at] = producerSequence;
            firstSequences[at] = first;
            counts[at] = count;
            lastProducerSequence = producerSequence;
        }

        Appended find(long producerSequence) {
            for (int i = 0; i < size; i++) {
                int at = (head + i) % REMEMBERED_BATCHES;
                if (producerSequences[at] == producerSequence) {
                    return new Appended(firstSequences[at], counts[at]);
                }
            }
            return null;
        }

        long oldestRemembered() {
            return size == 0 ? lastProducerSequence : producerSequences[head];
        }
    }

    private final int maxProducers;
    private final LinkedHashMap<String, Producer> producers;

    public ProducerTable() {
        this(DEFAULT_MAX_PRODUCERS);
    }

    public ProducerTable(int maxProducers) {
        this.maxProducers = maxProducers;
        this.producers = new LinkedHashMap<>(16, 0.75f, true);
    }

    /**
     * Judges a publish before it is appended.
     *
     * @return null when the batch is new and may be appended, or where it landed the first time
     * @throws BrokerException {@link ErrorCode#PRODUCER_SEQUENCE} when the producer sequence is at or
     *     below the producer's last one and not a batch remembered as appended
     */
    @Override
    public Appended check(String stream, String producerId, long producerSequence) {
        Producer p = producers.get(producerId);
        if (p == null || producerSequence > p.lastProducerSequence) {
            return null;
        }
        Appended earlier = p.find(producerSequence);
        if (earlier != null) {
            return earlier;
        }
        if (producerSequence < p.oldestRemembered()) {
            throw new BrokerException(ErrorCode.PRODUCER_SEQUENCE, "producer '" + producerId + "' on stream '" + stream
                    + "': producer sequence " + producerSequence + " is older than the last " + REMEMBERED_BATCHES
                    + " batches remembered (from " + p.oldestRemembered() + " to " + p.lastProducerSequence
                    + "); if it was appended, it was appended once; nothing was appended now",
                    dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.LAST_PRODUCER_SEQUENCE,
                            p.lastProducerSequence));
        }
        throw new BrokerException(ErrorCode.PRODUCER_SEQUENCE, "producer '" + producerId + "' on stream '" + stream
                + "': producer sequence " + producerSequence + " was never appended and is below the last one, "
                + p.lastProducerSequence + " (out of order); nothing was appended",
                dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.LAST_PRODUCER_SEQUENCE,
                        p.lastProducerSequence));
    }

    /** Records that the producer's batch was appended at {@code [firstSequence, firstSequence + count)}. */
    public void record(String producerId, long producerSequence, long firstSequence, int count) {
        Producer p = producers.get(producerId);
        if (p == null) {
            p = new Producer();
            producers.put(producerId, p);
            if (producers.size() > maxProducers) {
                Iterator<Map.Entry<String, Producer>> eldest = producers.entrySet().iterator();
                eldest.next();
                eldest.remove();
            }
        }
        if (producerSequence > p.lastProducerSequence) {
            p.add(producerSequence, firstSequence, count);
        }
    }

    /** Number of producers remembered. */
    public int size() {
        return producers.size();
    }

    /** Forgets everything (a snapshot is about to be loaded). */
    public void clear() {
        producers.clear();
    }

    /** Writes the table, least recently used producer first, so that {@link #readFrom} keeps that order. */
    public void writeTo(DataOutput out) throws IOException {
        out.writeInt(producers.size());
        for (Map.Entry<String, Producer> e : producers.entrySet()) {
            Producer p = e.getValue();
            out.writeUTF(e.getKey());
            out.writeLong(p.lastProducerSequence);
            out.writeByte(p.size);
            for (int i = 0; i < p.size; i++) {
                int at = (p.head + i) % REMEMBERED_BATCHES;
                out.writeLong(p.producerSequences[at]);
                out.writeLong(p.firstSequences[at]);
                out.writeInt(p.counts[at]);
            }
        }
    }

    /** Replaces the content with what {@link #writeTo} wrote. */
    public void readFrom(DataInput in) throws IOException {
        producers.clear();
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("negative producer count " + n);
        }
        for (int i = 0; i < n; i++) {
            String id = in.readUTF();
            long last = in.readLong();
            int size = in.readUnsignedByte();
            if (size > REMEMBERED_BATCHES) {
                throw new IOException("producer '" + id + "' has " + size + " batches, more than " + REMEMBERED_BATCHES);
            }
            Producer p = new Producer();
            for (int j = 0; j < size; j++) {
                p.add(in.readLong(), in.readLong(), in.readInt());
            }
            p.lastProducerSequence = last;
            producers.put(id, p);
        }
    }
}
