package dev.wirebus.server.internal.storage;

import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.server.internal.ProducerTable;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A durable log without files for testing the sync policies: "appends" only count, a sync makes
 * everything written so far durable, can be held at a gate, and can be made to fail.
 */
final class FakeDurableLog implements DurableStreamLog {
    private volatile long written;
    private volatile long writtenBytes;
    private volatile long durable;
    private volatile long syncedBytes;
    private final AtomicInteger syncs = new AtomicInteger();
    private final AtomicInteger syncsEntered = new AtomicInteger();
    private volatile CountDownLatch gate;
    private volatile RuntimeException failure;
    private final ProducerTable producers = new ProducerTable();

    /** Pretends {@code count} records of {@code bytes} bytes were written; returns the last sequence. */
    synchronized long write(int count, long bytes) {
        writtenBytes += bytes;
        written += count;
        return written;
    }

    /** Syncs entered from now on block until {@link #openGate()}. */
    void closeGate() {
        gate = new CountDownLatch(1);
    }

    void openGate() {
        gate.countDown();
    }

    void failSyncsWith(RuntimeException e) {
        failure = e;
    }

    /** Waits until {@code n} syncs have begun; false when the timeout passes first. */
    synchronized boolean awaitSyncsEntered(int n, long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (syncsEntered.get() < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    @Override
    public void sync() {
        long target;
        long bytes;
        synchronized (this) { // what this sync covers is fixed before anyone learns it began
            target = written;
            bytes = writtenBytes;
            syncsEntered.incrementAndGet();
            notifyAll();
        }
        CountDownLatch g = gate;
        if (g != null) {
            try {
                if (!g.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("gate never opened");
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
        syncs.incrementAndGet();
        syncedBytes = bytes;
        durable = Math.max(durable, target);
    }

    @Override
    public long durableSequence() {
        return durable;
    }

    @Override
    public long writtenSequence() {
        return written;
    }

    @Override
    public long unsyncedBytes() {
        return writtenBytes - syncedBytes;
    }

    @Override
    public long syncCount() {
        return syncs.get();
    }

    @Override
    public void enforceRetention() {
    }

    @Override
    public void close() {
    }

    @Override
    public long append(RecordBatch records) {
        throw new UnsupportedOperationException();
    }

    @Override
    public long append(RecordBatch records, String producerId, long producerSequence) {
        throw new UnsupportedOperationException();
    }

    @Override
    public ProducerTable producers() {
        return producers;
    }

    @Override
    public long firstSequence() {
        return 1;
    }

    @Override
    public long nextSequence() {
        return written + 1;
    }

    @Override
    public int read(long from, int maxRecords, int maxBytes, List<Slice> out) {
        throw new UnsupportedOperationException();
    }
}
