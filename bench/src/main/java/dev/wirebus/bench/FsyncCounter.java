package dev.wirebus.bench;

import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts the fsyncs made in this JVM: every {@code FileChannel.force} call, which is how the
 * broker's disk store syncs its segments, as JFR's {@code jdk.FileForce} event (threshold 0, no
 * stack traces). The broker exposes no fsync count of its own; JFR sees the calls without any
 * change to it. Runs in the JVM that hosts the broker: the benchmark's for an embedded broker,
 * {@link BrokerMain}'s for {@code --broker-process}.
 *
 * <p>JFR hands events over in batches about once a second. To count a window exactly,
 * {@link #count} commits a marker event of its own after the window and waits until the stream
 * delivers it: the stream is ordered, so every force that started before the marker was delivered
 * by then. A count therefore takes up to about a second after its window.
 *
 * <p>Cost: one JFR event per fsync (microseconds, against the millisecond an fsync takes), one
 * JFR thread parsing them, and about half a second to start JFR, once per JVM.
 */
final class FsyncCounter {
    /** The marker {@link #count} waits for. */
    @Name("dev.wirebus.bench.Mark")
    @Label("wirebus-bench marker")
    @StackTrace(false)
    static final class Mark extends Event {
        @Label("id")
        long id;
    }

    private static FsyncCounter instance;
    private static String unavailable;

    private final RecordingStream stream;
    private final ConcurrentHashMap<Long, CountDownLatch> marks = new ConcurrentHashMap<>();
    private final AtomicLong nextMark = new AtomicLong();
    /** Start times (epoch ns) of the forces seen and not yet pruned; guarded by this. */
    private long[] starts = new long[1024];
    private int size;

    private FsyncCounter() {
        stream = new RecordingStream();
        stream.enable("jdk.FileForce").withThreshold(Duration.ZERO).withoutStackTrace();
        stream.enable(Mark.class).withoutStackTrace();
        stream.setMaxAge(Duration.ofSeconds(30));
        stream.onEvent("jdk.FileForce", this::forced);
        stream.onEvent("dev.wirebus.bench.Mark", e -> {
            CountDownLatch l = marks.get(e.getLong("id"));
            if (l != null) {
                l.countDown();
            }
        });
        stream.startAsync();
    }

    /**
     * The counter of this JVM, started at the first call; null when JFR cannot run here (the
     * reason is printed once to standard error).
     */
    static synchronized FsyncCounter get() {
        if (instance == null && unavailable == null) {
            try {
                instance = new FsyncCounter();
            } catch (Throwable t) {
                unavailable = String.valueOf(t);
                System.err.println("(no fsync counts: JFR did not start: " + unavailable + ")");
            }
        }
        return instance;
    }

    /** Wall-clock time in epoch nanoseconds, comparable with JFR's event times and across JVMs on this machine. */
    static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private synchronized void forced(RecordedEvent e) {
        Instant t = e.getStartTime();
        if (size == starts.length) {
            starts = Arrays.copyOf(starts, size * 2);
        }
        starts[size++] = t.getEpochSecond() * 1_000_000_000L + t.getNano();
    }

    /**
     * Forces that started in [{@code fromEpochNanos}, {@code toEpochNanos}), once JFR delivered
     * everything up to now; -1 when it did not within {@code timeout}. Forgets forces before
     * {@code fromEpochNanos}: windows are asked for in time order.
     */
    long count(long fromEpochNanos, long toEpochNanos, Duration timeout) {
        long id = nextMark.incrementAndGet();
        CountDownLatch seen = new CountDownLatch(1);
        marks.put(id, seen);
        try {
            Mark m = new Mark();
            m.id = id;
            m.commit();
            if (!seen.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                return -1;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } finally {
            marks.remove(id);
        }
        synchronized (this) {
            long n = 0;
            int kept = 0;
            for (int i = 0; i < size; i++) {
                long s = starts[i];
                if (s >= fromEpochNanos && s < toEpochNanos) {
                    n++;
                }
                if (s >= fromEpochNanos) {
                    starts[kept++] = s;
                }
            }
            size = kept;
            return n;
        }
    }
}
