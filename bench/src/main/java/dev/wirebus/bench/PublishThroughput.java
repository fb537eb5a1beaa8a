package dev.wirebus.bench;

import dev.wirebus.client.BatchingPublisher;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.WirebusClient;

import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Pipelined, acknowledged publishes as fast as they go; the figure is messages acknowledged by the
 * broker per second. Three ways to publish:
 * <ul>
 *   <li>{@code publisher}: {@link BatchingPublisher}, producers calling {@code send} (fire-and-forget,
 *   blocking when its queue is full); its workers batch and pipeline;</li>
 *   <li>{@code batch}: {@link WirebusClient#publishBatch} of {@code --batch} messages, with
 *   {@code --in-flight} batches outstanding;</li>
 *   <li>{@code idempotent}: the {@code batch} window as an idempotent producer (a producer
 *   sequence per batch), to show what the duplicate check costs.</li>
 * </ul>
 */
final class PublishThroughput {
    static final String NAME = "publish-throughput";

    private PublishThroughput() {
    }

    static Workload open(String variant, BenchOptions o, LoadOptions l, String address) {
        return switch (variant) {
            case "publisher" -> new Publisher(o, l, address);
            case "batch", "idempotent" -> new Window(o, l, address, variant);
            default -> throw new IllegalArgumentException("unknown variant " + variant);
        };
    }

    /** Messages acked in a window, as a rate. */
    static Sample rate(Load load, AtomicLong acked, Duration window) {
        load.check();
        long a0 = acked.get();
        long t0 = System.nanoTime();
        Waits.sleep(window);
        long a1 = acked.get();
        long t1 = System.nanoTime();
        load.check();
        return new Sample().put(Sample.RATE, (a1 - a0) / ((t1 - t0) / 1e9));
    }

    static final class Publisher implements Workload {
        private final BenchOptions o;
        private final BatchingPublisher pub;
        private final Load load = new Load();

        Publisher(BenchOptions o, LoadOptions l, String address) {
            this.o = o;
            this.pub = BatchingPublisher.builder().address(address).name("bench-publisher").workers(l.workers)
                    .maxBatchMessages(l.batch).maxInFlightBatches(l.inFlight).queueCapacity(l.queue)
                    .blockTimeout(o.timeout).requestTimeout(o.timeout).errorListener(load::fail).build();
            byte[] payload = new byte[o.size];
            for (int p = 0; p < l.producers; p++) {
                load.start("bench-producer-" + p, () -> {
                    while (load.running) {
                        if (!pub.send("bench.throughput", payload)) {
                            if (load.running) {
                                throw new BenchException("BatchingPublisher did not take a message within "
                                        + o.timeout.toMillis() + " ms");
                            }
                        }
                    }
                });
            }
        }

        @Override
        public Sample measure(Duration window) {
            load.check();
            long a0 = pub.ackedCount();
            long t0 = System.nanoTime();
            Waits.sleep(window);
            long a1 = pub.ackedCount();
            long t1 = System.nanoTime();
            load.check();
            if (pub.failedCount() > 0) {
                throw new BenchException(pub.failedCount() + " messages failed");
            }
            return new Sample().put(Sample.RATE, (a1 - a0) / ((t1 - t0) / 1e9));
        }

        @Override
        public void close() {
            try {
                load.stop(o.timeout);
                if (!pub.flush(o.timeout)) {
                    System.err.println("  (publisher did not flush within " + o.timeout.toMillis() + " ms)");
                }
            } finally {
                pub.close();
            }
        }
    }

    static final class Window implements Workload {
        private final BenchOptions o;
        private final WirebusClient client;
        private final Load load = new Load();
        private final AtomicLong acked = new AtomicLong();

        Window(BenchOptions o, LoadOptions l, String address, String variant) {
            boolean idempotent = variant.equals("idempotent");
            long[] producerSequence = {0};
            this.o = o;
            this.client = WirebusClient.builder().address(address).name("bench-window")
                    .maxInFlight(Math.max(l.inFlight, 1)).requestTimeout(o.timeout).connect();
            List<byte[]> payloads = Collections.nCopies(l.batch, new byte[o.size]);
            Semaphore window = new Semaphore(l.inFlight);
            load.start("bench-window-sender", () -> {
                while (load.running) {
                    try {
                        if (!window.tryAcquire(o.timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                            throw new BenchException("no publish acknowledgement within " + o.timeout.toMillis() + " ms");
                        }
                    } catch (InterruptedException e) {
                        return;
                    }
                    CompletableFuture<PublishAck> f = idempotent
                            ? client.publishBatch("bench.throughput", payloads, dev.wirebus.client.PublishOptions.builder()
                                    .producer("bench-producer", ++producerSequence[0]).build())
                            : client.publishBatch("bench.throughput", payloads);
                    f.whenComplete((ack, t) -> {
                        window.release();
                        if (t != null) {
                            load.fail(t);
                        } else {
                            acked.addAndGet(ack.count());
                        }
                    });
                }
            });
        }

        @Override
        public Sample measure(Duration window) {
            return rate(load, acked, window);
        }

        @Override
        public void close() {
            try {
                load.stop(o.timeout);
            } finally {
                client.close();
            }
        }
    }
}
