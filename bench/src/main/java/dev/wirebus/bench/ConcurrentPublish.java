package dev.wirebus.bench;

import dev.wirebus.client.WirebusClient;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;

/**
 * Many callers sharing one client, each publishing one message and waiting for its ack before the
 * next (closed loops, no batching in the client): acknowledged msg/s over all of them, and the
 * publish -> ack latency each caller saw. On a disk store this shows group commit: the callers'
 * publishes land between two fsyncs and one fsync acknowledges them all, so msg/s can be many
 * times fsync/s.
 */
final class ConcurrentPublish implements Workload {
    static final String STREAM = "bench.concurrent";

    private final BenchOptions o;
    private final WirebusClient client;
    private final Load load = new Load();
    private final LongAdder acked = new LongAdder();
    private final Recorder latency = new Recorder(Sample.HIGHEST_NANOS, 3);

    ConcurrentPublish(BenchOptions o, int publishers, String address) {
        this.o = o;
        this.client = WirebusClient.builder().address(address).name("bench-concurrent")
                .maxInFlight(Math.max(publishers, 1)).requestTimeout(o.timeout).connect();
        byte[] payload = new byte[o.size];
        for (int i = 0; i < publishers; i++) {
            load.start("bench-concurrent-" + i, () -> {
                while (load.running) {
                    long t0 = System.nanoTime();
                    Waits.await(client.publish(STREAM, payload), o.timeout, "publish ack");
                    latency.recordValue(Math.min(System.nanoTime() - t0, Sample.HIGHEST_NANOS));
                    acked.increment();
                }
            });
        }
    }

    @Override
    public Sample measure(Duration window) {
        load.check();
        latency.getIntervalHistogram(); // drop what was recorded before the window
        long a0 = acked.sum();
        long t0 = System.nanoTime();
        Waits.sleep(window);
        long a1 = acked.sum();
        long t1 = System.nanoTime();
        Histogram h = latency.getIntervalHistogram();
        load.check();
        return new Sample().put(Sample.RATE, (a1 - a0) / ((t1 - t0) / 1e9)).percentiles("", h);
    }

    @Override
    public void close() {
        try {
            load.stop(o.timeout.plusSeconds(1));
        } finally {
            client.close();
        }
    }
}
