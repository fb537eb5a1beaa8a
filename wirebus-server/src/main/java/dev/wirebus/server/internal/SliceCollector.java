package dev.wirebus.server.internal;

import dev.wirebus.protocol.RecordBatch;

import java.util.List;

/**
 * Gathers the slices of one {@link StreamLog#read}, the same way for every log: each batch touched
 * while it fits in the byte limit, or as much of it as fits; the first record of a read is
 * taken whatever its size, so a read returns at least one record; a read that stops inside a batch
 * ends there. The byte limit counts record bytes with their 4-byte length prefixes, so a caller can
 * keep a whole frame under the protocol's maximum frame length.
 *
 * <pre>{@code
 * SliceCollector c = new SliceCollector(from, maxRecords, maxBytes, out);
 * while (more && c.offer(firstSequenceOfBatch, batch)) { ...next batch... }
 * return c.taken();
 * }</pre>
 */
public final class SliceCollector {
    private final int maxRecords;
    private final int maxBytes;
    private final List<StreamLog.Slice> out;
    private long next;
    private int taken;
    private int bytes;

    public SliceCollector(long from, int maxRecords, int maxBytes, List<StreamLog.Slice> out) {
        this.next = from;
        this.maxRecords = maxRecords;
        this.maxBytes = maxBytes;
        this.out = out;
    }

    /** The sequence the next batch offered must hold. */
    public long nextSequence() {
        return next;
    }

    /** Records taken so far. */
    public int taken() {
        return taken;
    }

    /**
     * Takes what fits of {@code batch} (whose first record has {@code firstSequence} and which holds
     * {@link #nextSequence()}).
     *
     * @return whether the read goes on to the next batch
     */
    public boolean offer(long firstSequence, RecordBatch batch) {
        if (taken >= maxRecords) {
            return false;
        }
        int start = (int) (next - firstSequence);
        int end = Math.min(batch.count(), start + (maxRecords - taken));
        int size = batch.sizeInBytes(start, end);
        if (bytes + size > maxBytes) {
            // the first record of a read is always taken (one record always fits in a frame, since a
            // message is at most the maximum frame length - 512); after it, only what fits
            int least = taken == 0 ? start + 1 : start;
            // the largest end in [least, end) whose records fit (sizes grow with end)
            int lo = least;
            int hi = end - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (bytes + batch.sizeInBytes(start, mid) <= maxBytes) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            end = lo;
            if (end == start) {
                return false;
            }
            size = batch.sizeInBytes(start, end);
        }
        out.add(new StreamLog.Slice(next, batch, start, end));
        taken += end - start;
        bytes += size;
        next += end - start;
        return end == batch.count() && taken < maxRecords;
    }
}
