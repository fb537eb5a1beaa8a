package dev.wirebus.bench;

import dev.wirebus.client.BatchingPublisher;
import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.store.redis.RedisStorage;
import dev.wirebus.store.redis.RedisStoreSettings;
import org.HdrHistogram.Histogram;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Redis store's figures (issue 15), for {@code bench/redis.sh}: N brokers in this JVM on one
 * store, each with its own client over TCP.
 * <ul>
 *   <li>{@code publish}: one publisher per broker, {@code window} acknowledged publishes in flight
 *   each, on one stream; acknowledged messages per second, all brokers together;</li>
 *   <li>{@code delivery}: the same publishes, and one subscriber per broker reading the stream from
 *   its start; messages delivered per second, all subscribers together (the fan-out rate);</li>
 *   <li>{@code latency}: broker 0 publishes one message at a time (each after the previous ack), the
 *   subscriber of the last broker measures publish to delivery; p50 and p99 in microseconds.</li>
 * </ul>
 * {@code store} is a Redis address or {@code disk:DIR} (the embedded disk store, one broker,
 * durability always) for comparison.
 *
 * <pre>{@code
 * java -cp bench/target/wirebus-bench.jar dev.wirebus.bench.RedisStoreBench redis://127.0.0.1:6379 2 200000 100 256
 * }</pre>
 */
public final class RedisStoreBench {
    private RedisStoreBench() {
    }

    public static void main(String[] args) throws Exception {
        String store = args[0];
        int nodes = Integer.parseInt(args[1]);
        int messages = Integer.parseInt(args[2]);
        int size = Integer.parseInt(args[3]);
        int window = Integer.parseInt(args[4]);
        int latencyMessages = Math.min(messages / 10, 5000);
        List<Broker> brokers = new ArrayList<>();
        List<WirebusClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < nodes; i++) {
                BrokerConfig.Builder b = BrokerConfig.builder().unixSocket(null)
                        .tcp(new InetSocketAddress("127.0.0.1", 0)).retentionMessages(100_000_000L);
                Broker broker;
                if (store.startsWith("disk:")) {
                    Path dir = Path.of(store.substring(5));
                    Files.createDirectories(dir);
                    broker = Broker.start(b.storage(BrokerConfig.Storage.DISK).dataDirectory(dir)
                            .durability(BrokerConfig.Durability.ALWAYS).build());
                } else {
                    BrokerConfig config = b.build();
                    broker = Broker.start(config, RedisStorage.open(RedisStoreSettings.parse(store), config));
                }
                brokers.add(broker);
                clients.add(WirebusClient.builder().address("tcp://127.0.0.1:" + broker.tcpAddress().getPort())
                        .requestTimeout(Duration.ofSeconds(30)).connect());
            }
            String run = Long.toString(System.nanoTime(), 36);
            double publish = publish(clients, "p-" + run, messages, size, window, false);
            double batched = batched(brokers, "b-" + run, messages, size);
            double delivery = publish(clients, "d-" + run, messages, size, window, true);
            long[] latency = latency(clients, "l-" + run, latencyMessages, size);
            System.out.printf(Locale.ROOT, "RESULT nodes=%d publish_msgs_per_s=%.0f batched_msgs_per_s=%.0f "
                    + "delivered_msgs_per_s=%.0f latency_p50_us=%d latency_p99_us=%d%n", nodes, publish, batched,
                    delivery, latency[0], latency[1]);
        } finally {
            clients.forEach(WirebusClient::close);
            brokers.forEach(Broker::close);
        }
    }

    /**
     * Acknowledged publishes through one {@link BatchingPublisher} per broker (the client's pipelined
     * path: up to 1000 messages per PUBLISH_BATCH, 4 batches in flight), all to one stream: msg/s acked.
     */
    private static double batched(List<Broker> brokers, String stream, int messages, int size) throws Exception {
        int n = brokers.size();
        byte[] payload = new byte[size];
        List<BatchingPublisher> publishers = new ArrayList<>();
        try {
            for (Broker b : brokers) {
                publishers.add(BatchingPublisher.builder().address("tcp://127.0.0.1:" + b.tcpAddress().getPort())
                        .workers(1).maxBatchMessages(1000).maxInFlightBatches(4).requestTimeout(Duration.ofSeconds(30))
                        .build());
            }
            long start = System.nanoTime();
            List<CompletableFuture<Void>> senders = new ArrayList<>();
            for (int p = 0; p < n; p++) {
                BatchingPublisher bp = publishers.get(p);
                int share = messages / n + (p < messages % n ? 1 : 0);
                senders.add(CompletableFuture.runAsync(() -> {
                    for (int i = 0; i < share; i++) {
                        if (!bp.send(stream, payload)) {
                            throw new IllegalStateException("batching publisher refused a message");
                        }
                    }
                    if (!bp.flush(Duration.ofMinutes(5)) || bp.failedCount() > 0) {
                        throw new IllegalStateException(bp.failedCount() + " batched publishes failed");
                    }
                }));
            }
            CompletableFuture.allOf(senders.toArray(new CompletableFuture[0])).get(10, TimeUnit.MINUTES);
            return messages / ((System.nanoTime() - start) / 1e9);
        } finally {
            publishers.forEach(BatchingPublisher::close);
        }
    }

    /** Pipelined acknowledged publishes from every broker; with {@code deliver}, the rate subscribers receive. */
    private static double publish(List<WirebusClient> clients, String stream, int messages, int size, int window,
                                  boolean deliver) throws Exception {
        int n = clients.size();
        long total = (long) messages;
        CountDownLatch delivered = new CountDownLatch(deliver ? n : 0);
        List<Subscription> subs = new ArrayList<>();
        if (deliver) {
            for (WirebusClient c : clients) {
                AtomicLong got = new AtomicLong();
                Subscription s = c.subscribe(stream, StartPosition.earliest(), m -> {
                    if (got.incrementAndGet() == total) {
                        delivered.countDown();
                    }
                });
                s.started().get(30, TimeUnit.SECONDS);
                subs.add(s);
            }
        }
        byte[] payload = new byte[size];
        long start = System.nanoTime();
        List<CompletableFuture<Void>> publishers = new ArrayList<>();
        for (int p = 0; p < n; p++) {
            WirebusClient c = clients.get(p);
            int share = messages / n + (p < messages % n ? 1 : 0);
            publishers.add(CompletableFuture.runAsync(() -> {
                Semaphore inFlight = new Semaphore(window);
                CompletableFuture<?> last = CompletableFuture.completedFuture(null);
                for (int i = 0; i < share; i++) {
                    inFlight.acquireUninterruptibly();
                    last = c.publish(stream, payload).whenComplete((seq, failure) -> {
                        inFlight.release();
                        if (failure != null) {
                            System.err.println("publish failed: " + failure);
                        }
                    });
                }
                inFlight.acquireUninterruptibly(window); // every ack is in
                last.join();
            }));
        }
        CompletableFuture.allOf(publishers.toArray(new CompletableFuture[0])).get(10, TimeUnit.MINUTES);
        long acked = System.nanoTime();
        if (!deliver) {
            return messages / ((acked - start) / 1e9);
        }
        if (!delivered.await(10, TimeUnit.MINUTES)) {
            throw new IllegalStateException("subscribers did not receive " + total + " messages within 10 min");
        }
        long end = System.nanoTime();
        subs.forEach(Subscription::close);
        return (double) total * n / ((end - start) / 1e9);
    }

    /** Publish on broker 0, delivery on the last broker: p50 and p99 in microseconds. */
    private static long[] latency(List<WirebusClient> clients, String stream, int messages, int size) throws Exception {
        Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
        CountDownLatch done = new CountDownLatch(messages);
        Subscription s = clients.get(clients.size() - 1).subscribe(stream, StartPosition.latest(), (Message m) -> {
            long sent = ByteBuffer.wrap(m.payload()).getLong();
            h.recordValue(Math.max(0, System.nanoTime() - sent));
            done.countDown();
        });
        s.started().get(30, TimeUnit.SECONDS);
        for (int i = 0; i < messages; i++) {
            ByteBuffer b = ByteBuffer.allocate(Math.max(size, 8));
            b.putLong(System.nanoTime());
            clients.get(0).publish(stream, b.array()).get(30, TimeUnit.SECONDS);
        }
        if (!done.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the subscriber got " + (messages - done.getCount()) + " of " + messages);
        }
        s.close();
        return new long[] {h.getValueAtPercentile(50) / 1000, h.getValueAtPercentile(99) / 1000};
    }
}
