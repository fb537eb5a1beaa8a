package dev.wirebus.server.internal;

import dev.wirebus.protocol.RecordBatch;

import java.util.Arrays;
import java.util.List;

/**
 * A stream log kept in memory: the batches as producers sent them, in an array-backed queue, with
 * retention by message count and bytes that drops whole batches from the head.
 */
final class InMemoryStreamLog implements StreamLog {
    private final long retentionMessages;
    private final long retentionBytes;

    private long[] firstSequences = new long[64];
    private RecordBatch[] batches = new RecordBatch[64];
    private int head;
    private int tail;
    private long nextSequence = 1;
    private long retainedMessages;
    private long retainedBytes;
    private final ProducerTable producers = new ProducerTable();

    @Override
    public long trimBefore(long before) {
        while (head < tail && (head + 1 < tail ? firstSequences[head + 1] : nextSequence) <= before) {
            RecordBatch dropped = batches[head];
            batches[head] = null;
            head++;
            retainedMessages -= dropped.count();
            retainedBytes -= dropped.sizeInBytes();
        }
        return firstSequence();
    }

    @Override
    public long retainedBytes() {
        return retainedBytes;
    }

    InMemoryStreamLog(long retentionMessages, long retentionBytes) {
        this.retentionMessages = retentionMessages;
        this.retentionBytes = retentionBytes;
    }

    @Override
    public long append(RecordBatch records) {
        if (tail == batches.length) {
            makeRoom();
        }
        long first = nextSequence;
        firstSequences[tail] = first;
        batches[tail] = records;
        tail++;
        nextSequence += records.count();
        retainedMessages += records.count();
        retainedBytes += records.sizeInBytes();
        trim();
        return first;
    }

    @Override
    public long append(RecordBatch records, String producerId, long producerSequence) {
        long first = append(records);
        producers.record(producerId, producerSequence, first, records.count());
        return first;
    }

    @Override
    public ProducerTable producers() {
        return producers;
    }

    private void trim() {
        while (tail - head > 1 && (retainedMessages > retentionMessages || retainedBytes > retentionBytes)) {
            RecordBatch dropped = batches[head];
            batches[head] = null;
            head++;
            retainedMessages -= dropped.count();
            retainedBytes -= dropped.sizeInBytes();
        }
    }

    private void makeRoom() {
        int live = tail - head;
        if (head > 0 && live <= batches.length / 2) {
            System.arraycopy(firstSequences, head, firstSequences, 0, live);
            System.arraycopy(batches, head, batches, 0, live);
            Arrays.fill(batches, live, tail, null);
        } else {
            long[] seqs = new long[batches.length * 2];
            RecordBatch[] bs = new RecordBatch[batches.length * 2];
            System.arraycopy(firstSequences, head, seqs, 0, live);
            System.arraycopy(batches, head, bs, 0, live);
            firstSequences = seqs;
            batches = bs;
        }
        head = 0;
        tail = live;
    }

    @Override
    public long firstSequence() {
        return head == tail ? nextSequence : firstSequences[head];
    }

    @Override
    public long nextSequence() {
        return nextSequence;
    }

    @Override
    public int read(long from, int maxRecords, int maxBytes, List<Slice> out) {
        SliceCollector slices = new SliceCollector(from, maxRecords, maxBytes, out);
        for (int i = indexOf(from); i < tail && slices.offer(firstSequences[i], batches[i]); i++) {
            // each batch in turn until a limit is reached
        }
        return slices.taken();
    }

    /** Index of the batch holding sequence {@code seq} (which is retained). */
    private int indexOf(long seq) {
        int lo = head;
        int hi = tail - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (firstSequences[mid] <= seq) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }
}
