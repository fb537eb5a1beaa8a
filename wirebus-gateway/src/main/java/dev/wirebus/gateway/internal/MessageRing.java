package dev.wirebus.gateway.internal;

import dev.wirebus.client.Message;

/**
 * The most recent messages of one stream, consecutive by sequence, bounded by a count and by
 * payload bytes (whichever is reached first evicts the oldest). Not thread-safe: its
 * {@link StreamFeed} guards it.
 */
final class MessageRing {
    /** Rough per-message overhead counted against the byte budget besides the payload. */
    static final int OVERHEAD_BYTES = 64;

    private final Message[] slots;
    private final long maxBytes;
    private int head;
    private int count;
    private long bytes;
    /** The sequence the next appended message must have; the ring holds [next - count, next). */
    private long next;

    MessageRing(int maxMessages, long maxBytes, long next) {
        if (maxMessages < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("a ring holds at least one message and one byte");
        }
        this.slots = new Message[maxMessages];
        this.maxBytes = maxBytes;
        this.next = next;
    }

    /** Appends the message at {@link #next()}, evicting the oldest ones beyond the bounds. */
    void append(Message m) {
        if (m.sequence() != next) {
            throw new IllegalStateException("ring of '" + m.stream() + "' expected sequence " + next + ", got "
                    + m.sequence());
        }
        if (count == slots.length) {
            evictOldest();
        }
        slots[(head + count) % slots.length] = m;
        count++;
        bytes += size(m);
        next++;
        while (bytes > maxBytes && count > 0) {
            evictOldest();
        }
    }

    private void evictOldest() {
        Message old = slots[head];
        slots[head] = null;
        head = (head + 1) % slots.length;
        count--;
        bytes -= size(old);
    }

    private static long size(Message m) {
        return m.payload().length + OVERHEAD_BYTES;
    }

    /** The oldest sequence held, or {@link #next()} when empty. */
    long first() {
        return next - count;
    }

    /** The sequence after the newest held. */
    long next() {
        return next;
    }

    int count() {
        return count;
    }

    long bytes() {
        return bytes;
    }

    /** The message at {@code sequence}, which must be in [{@link #first()}, {@link #next()}). */
    Message get(long sequence) {
        long first = first();
        if (sequence < first || sequence >= next) {
            throw new IndexOutOfBoundsException("sequence " + sequence + " is not in [" + first + ", " + next + ")");
        }
        return slots[(int) ((head + (sequence - first)) % slots.length)];
    }
}
