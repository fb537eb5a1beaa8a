package dev.wirebus.bench;

import dev.wirebus.client.BatchingPublisher;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * The publishing side of end-to-end and fan-out: one thread feeding a {@link BatchingPublisher},
 * each payload starting with a {@code System.nanoTime()} stamp: 8 bytes big-endian, or, for
 * subscribers that see payloads as text (the gateway's SSE and WebSocket), {@link #TEXT_DIGITS}
 * decimal digits followed by {@code x} padding. Unpaced it goes as fast
 * as the publisher takes messages; paced ({@code rate > 0}) each message is stamped with the time
 * it was due, so a producer held up still charges the delay to the latency (no coordinated
 * omission). Either way it waits while more than {@code maxLag} messages are published but not yet
 * delivered to the slowest subscriber: the broker keeps only its retention, and a subscriber left
 * further behind would be cut off.
 */
final class Producer implements Runnable {
    private final BatchingPublisher pub;
    private final String stream;
    private final int size;
    private final long rate;
    private final long maxLag;
    private final LongSupplier slowestDelivered;
    private final Load load;
    private final Duration timeout;
    private final boolean text;

    /** Digits of a text stamp: a non-negative long, zero-padded. */
    static final int TEXT_DIGITS = 19;

    Producer(BatchingPublisher pub, String stream, int size, long rate, long maxLag, LongSupplier slowestDelivered,
             Load load, Duration timeout) {
        this(pub, stream, size, rate, maxLag, slowestDelivered, load, timeout, false);
    }

    /** With {@code text}, the stamp is {@link #TEXT_DIGITS} ASCII digits and the rest of the payload 'x'. */
    Producer(BatchingPublisher pub, String stream, int size, long rate, long maxLag, LongSupplier slowestDelivered,
             Load load, Duration timeout, boolean text) {
        int min = text ? TEXT_DIGITS : 8;
        if (size < min) {
            throw new IllegalArgumentException("--size must be at least " + min + " here: the payload carries a timestamp");
        }
        this.text = text;
        this.pub = pub;
        this.stream = stream;
        this.size = size;
        this.rate = rate;
        this.maxLag = maxLag;
        this.slowestDelivered = slowestDelivered;
        this.load = load;
        this.timeout = timeout;
    }

    @Override
    public void run() {
        double interval = rate > 0 ? 1e9 / rate : 0;
        long start = System.nanoTime();
        long sent = 0;
        long slowest = 0;
        while (load.running) {
            long stamp;
            if (rate > 0) {
                long due = start + (long) (sent * interval);
                long early = due - System.nanoTime();
                if (early > 0) {
                    // park, never spin: on 2 cores a spinning producer takes the core the broker needs.
                    // The OS wakes it up to ~50-100 us late; what is then due goes out at once, stamped
                    // with its due time, so that lateness counts in the latency too.
                    LockSupport.parkNanos(early);
                    continue;
                }
                stamp = due;
            } else {
                stamp = System.nanoTime();
            }
            if ((sent & 255) == 0 || sent - slowest > maxLag) {
                slowest = slowestDelivered.getAsLong();
                if (sent - slowest > maxLag) {
                    slowest = awaitLag(sent, slowest);
                    if (!load.running) {
                        return;
                    }
                }
            }
            byte[] payload = new byte[size];
            if (text) {
                putText(payload, stamp);
            } else {
                putLong(payload, stamp);
            }
            if (!pub.send(stream, payload) && load.running) {
                throw new BenchException("BatchingPublisher did not take a message within " + timeout.toMillis() + " ms");
            }
            sent++;
        }
    }

    private long awaitLag(long sent, long slowest) {
        long lastProgress = System.nanoTime();
        long last = slowest;
        while (load.running && sent - last > maxLag) {
            LockSupport.parkNanos(20_000);
            long now = slowestDelivered.getAsLong();
            if (now != last) {
                last = now;
                lastProgress = System.nanoTime();
            } else if (System.nanoTime() - lastProgress > timeout.toNanos()) {
                throw new BenchException("the slowest subscriber received nothing for " + timeout.toMillis()
                        + " ms (" + (sent - last) + " messages published and not delivered)");
            }
        }
        return last;
    }

    static void putLong(byte[] b, long v) {
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
    }

    /** {@code v} (not negative) as {@link #TEXT_DIGITS} zero-padded digits, then 'x' to the end of {@code b}. */
    static void putText(byte[] b, long v) {
        if (v < 0) {
            throw new BenchException("System.nanoTime() is negative on this JVM; a text stamp cannot carry it");
        }
        for (int i = TEXT_DIGITS - 1; i >= 0; i--) {
            b[i] = (byte) ('0' + v % 10);
            v /= 10;
        }
        java.util.Arrays.fill(b, TEXT_DIGITS, b.length, (byte) 'x');
    }

    static long getLong(byte[] b) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = v << 8 | (b[i] & 0xff);
        }
        return v;
    }

    /** A publisher configured from the options, errors going to {@code load}. */
    static BatchingPublisher publisher(BenchOptions o, LoadOptions l, String address, Load load) {
        return BatchingPublisher.builder().address(address).name("bench-publisher").workers(l.workers)
                .maxBatchMessages(l.batch).maxInFlightBatches(l.inFlight).queueCapacity(l.queue)
                .blockTimeout(o.timeout).requestTimeout(o.timeout).errorListener(load::fail).build();
    }
}
