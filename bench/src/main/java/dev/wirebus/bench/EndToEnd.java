package dev.wirebus.bench;

import dev.wirebus.client.BatchingPublisher;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.SingleWriterRecorder;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Publish through a {@link BatchingPublisher}, deliver to one subscriber on its own connection:
 * messages delivered to the handler per second, and publish -> delivery latency from the
 * {@code nanoTime} stamp in each payload (one machine, one clock). Unpaced, the latency is mostly
 * time spent queued (publisher queue, the {@code --max-lag} allowance); with {@code --rate} it is
 * the latency at that load.
 */
final class EndToEnd implements Workload {
    static final String NAME = "end-to-end";
    private static final String STREAM = "bench.e2e";

    private final BenchOptions o;
    private final WirebusClient subClient;
    private final Subscription sub;
    private final BatchingPublisher pub;
    private final Load load = new Load();
    private final AtomicLong delivered = new AtomicLong();
    // one handler call at a time (possibly on different dispatch threads, handed over in order): a single writer
    private final SingleWriterRecorder latency = new SingleWriterRecorder(Sample.HIGHEST_NANOS, 3);

    EndToEnd(BenchOptions o, LoadOptions l, String address) {
        this.o = o;
        this.subClient = WirebusClient.builder().address(address).name("bench-subscriber")
                .subscriptionWindow(l.subWindow).requestTimeout(o.timeout).connect();
        BatchingPublisher p = null;
        try {
            this.sub = subClient.subscribe(STREAM, StartPosition.latest(), m -> {
                long lat = System.nanoTime() - Producer.getLong(m.payload());
                latency.recordValue(Math.max(0, Math.min(lat, Sample.HIGHEST_NANOS)));
                delivered.incrementAndGet();
            });
            sub.closed().whenComplete((v, t) -> {
                if (t != null) {
                    load.fail(new BenchException("the broker ended the subscription: " + t.getMessage(), t));
                }
            });
            Waits.await(sub.started(), o.timeout, "SUBSCRIBED");
            p = Producer.publisher(o, l, address, load);
        } catch (RuntimeException e) {
            subClient.close();
            throw e;
        }
        this.pub = p;
        load.start("bench-producer", new Producer(pub, STREAM, o.size, l.rate, l.maxLag, delivered::get, load, o.timeout));
    }

    @Override
    public Sample measure(Duration window) {
        load.check();
        long d0 = delivered.get();
        long a0 = pub.ackedCount();
        latency.getIntervalHistogram(); // drop what was recorded before the window
        long t0 = System.nanoTime();
        Waits.sleep(window);
        long d1 = delivered.get();
        long a1 = pub.ackedCount();
        Histogram h = latency.getIntervalHistogram();
        double secs = (System.nanoTime() - t0) / 1e9;
        load.check();
        return new Sample().put(Sample.RATE, (d1 - d0) / secs).put("acked_" + Sample.RATE, (a1 - a0) / secs)
                .percentiles("e2e_", h);
    }

    @Override
    public void close() {
        try {
            load.stop(o.timeout);
            pub.flush(o.timeout);
        } finally {
            pub.close();
            sub.close();
            subClient.close();
        }
    }
}
