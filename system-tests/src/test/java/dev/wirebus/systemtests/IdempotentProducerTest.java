package dev.wirebus.systemtests;

import dev.wirebus.client.FetchResult;
import dev.wirebus.client.Message;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.ReconnectPolicy;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Idempotent producers: a batch is appended at most once per producer sequence, a retry is
 * answered with the original sequences, and that holds across broker restarts and SIGKILLs.
 */
class IdempotentProducerTest {
    @TempDir
    Path dir;

    private BrokerConfig.Builder disk() {
        return BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .dataDirectory(dir.resolve("data")).durability(BrokerConfig.Durability.BATCH).segmentBytes(16 * 1024);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static PublishOptions producer(String id, long sequence) {
        return PublishOptions.builder().producer(id, sequence).build();
    }

    private static List<Message> readAll(WirebusClient c, String stream) throws Exception {
        List<Message> all = new ArrayList<>();
        long from = 1;
        FetchResult page;
        do {
            page = c.fetch(stream, from, 1000).get(10, TimeUnit.SECONDS);
            all.addAll(page.messages());
            from = page.nextSequence();
        } while (!page.atEnd());
        return all;
    }

    @ParameterizedTest
    @EnumSource(value = BrokerConfig.Storage.class)
    void aRetriedBatchIsAcknowledgedWithItsOriginalSequencesAndAppendedOnce(BrokerConfig.Storage storage)
            throws Exception {
        BrokerConfig.Builder config = storage == BrokerConfig.Storage.DISK ? disk()
                : BrokerConfig.builder().unixSocket(dir.resolve("w.sock"));
        try (Broker broker = Broker.start(config.build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            c.publish("tx", utf8("other")).get(10, TimeUnit.SECONDS);
            PublishAck first = c.publishBatch("tx", List.of(utf8("a"), utf8("b")), producer("p1", 1))
                    .get(10, TimeUnit.SECONDS);
            assertThat(first).isEqualTo(new PublishAck(2, 2, false));
            PublishAck retry = c.publishBatch("tx", List.of(utf8("a"), utf8("b")), producer("p1", 1))
                    .get(10, TimeUnit.SECONDS);
            assertThat(retry).isEqualTo(new PublishAck(2, 2, true));
            // another producer's sequence 1 is its own
            assertThat(c.publish("tx", utf8("c"), producer("p2", 1)).get(10, TimeUnit.SECONDS))
                    .isEqualTo(new PublishAck(4, 1, false));
            // gaps are allowed; the next batch is new
            assertThat(c.publish("tx", utf8("d"), producer("p1", 5)).get(10, TimeUnit.SECONDS))
                    .isEqualTo(new PublishAck(5, 1, false));
            assertThat(readAll(c, "tx")).extracting(Message::payloadAsString).containsExactly("other", "a", "b", "c", "d");
        }
    }

    @Test
    void aProducerSequenceOutOfOrderIsRefusedAndNothingIsAppended() throws Exception {
        try (Broker broker = Broker.start(BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            c.publish("tx", utf8("x"), producer("p", 10)).get(10, TimeUnit.SECONDS);
            c.publish("tx", utf8("y"), producer("p", 12)).get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> c.publish("tx", utf8("late"), producer("p", 11)).get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE);
                        assertThat(e.getMessage()).contains("producer 'p'", "11", "out of order", "nothing was appended");
                    });
            // beyond the remembered window: refused, not appended again
            for (long s = 13; s <= 62; s++) {
                c.publish("tx", utf8("m" + s), producer("p", s)).get(10, TimeUnit.SECONDS);
            }
            assertThatThrownBy(() -> c.publish("tx", utf8("x"), producer("p", 10)).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE);
                        assertThat(e.getMessage()).contains("older than the last 32 batches");
                    });
            assertThat(broker.lastSequence("tx")).isEqualTo(52);
        }
    }

    @Test
    void twoCopiesOfABatchHeldByAGateAreAppendedOnceWhenReleased() throws Exception {
        try (Broker broker = Broker.start(BrokerConfig.builder().unixSocket(dir.resolve("w.sock"))
                .publishWait(Duration.ofSeconds(30)).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            java.util.concurrent.atomic.AtomicReference<dev.wirebus.client.Subscription> sub =
                    new java.util.concurrent.atomic.AtomicReference<>();
            sub.set(c.subscribe("gated", dev.wirebus.client.SubscribeOptions.builder().consumer("executor")
                    .ackMode(dev.wirebus.client.SubscribeOptions.AckMode.EXPLICIT).maxLag(1).build(), m -> { }));
            sub.get().started().get(10, TimeUnit.SECONDS);
            c.publish("gated", utf8("first")).get(10, TimeUnit.SECONDS); // lag 1: the gate is full
            CompletableFuture<PublishAck> original = c.publish("gated", utf8("x"), producer("p", 1));
            CompletableFuture<PublishAck> copy = c.publish("gated", utf8("x"), producer("p", 1));
            await().atMost(Duration.ofSeconds(10)).until(() -> c.consumers("gated").get().heldPublishes() == 2);
            sub.get().ack(1).get(10, TimeUnit.SECONDS);
            assertThat(original.get(10, TimeUnit.SECONDS)).isEqualTo(new PublishAck(2, 1, false));
            assertThat(copy.get(10, TimeUnit.SECONDS)).isEqualTo(new PublishAck(2, 1, true));
            assertThat(broker.lastSequence("gated")).isEqualTo(2);
        }
    }

    @Test
    void retriesAfterABrokerRestartAreNotAppendedTwiceWithOrWithoutSnapshots() throws Exception {
        int perProducer = 400;
        List<String> producers = List.of("alpha", "beta", "gamma");
        Map<String, Map<Long, PublishAck>> acks = new HashMap<>();
        try (Broker broker = Broker.start(disk().build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            for (int i = 1; i <= perProducer; i++) {
                for (String p : producers) {
                    PublishAck ack = c.publishBatch("blocks", List.of(utf8(p + "-" + i + "-a"), utf8(p + "-" + i + "-b")),
                            producer(p, i)).get(10, TimeUnit.SECONDS);
                    acks.computeIfAbsent(p, k -> new HashMap<>()).put((long) i, ack);
                }
            }
        }
        long total = 2L * perProducer * producers.size();
        try (Stream<Path> files = Files.list(dir.resolve("data").resolve("streams").resolve("blocks"))) {
            assertThat(files.filter(f -> f.toString().endsWith(".producers")).count())
                    .as("segments rolled and left producer snapshots").isGreaterThan(3);
        }
        for (boolean withSnapshots : new boolean[] {true, false}) {
            if (!withSnapshots) {
                try (Stream<Path> files = Files.list(dir.resolve("data").resolve("streams").resolve("blocks"))) {
                    for (Path f : files.filter(f -> f.toString().endsWith(".producers")).toList()) {
                        Files.delete(f);
                    }
                }
            }
            try (Broker broker = Broker.start(disk().build());
                 WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
                for (String p : producers) {
                    for (long i = perProducer - 31; i <= perProducer; i += 7) {
                        PublishAck retry = c.publishBatch("blocks", List.of(utf8("ignored"), utf8("ignored")),
                                producer(p, i)).get(10, TimeUnit.SECONDS);
                        PublishAck original = acks.get(p).get(i);
                        assertThat(retry).as("%s #%d after restart (snapshots: %s)", p, i, withSnapshots)
                                .isEqualTo(new PublishAck(original.firstSequence(), 2, true));
                    }
                    assertThatThrownBy(() -> c.publish("blocks", utf8("ignored"), producer(p, 3)).get(10, TimeUnit.SECONDS))
                            .cause().isInstanceOf(ServerRefusedException.class);
                }
                assertThat(broker.lastSequence("blocks")).isEqualTo(total);
            }
        }
        try (Broker broker = Broker.start(disk().build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            PublishAck next = c.publish("blocks", utf8("alpha-next"), producer("alpha", perProducer + 1))
                    .get(10, TimeUnit.SECONDS);
            assertThat(next).isEqualTo(new PublishAck(total + 1, 1, false));
            List<Message> all = readAll(c, "blocks");
            assertThat(all).hasSize((int) total + 1);
            assertThat(all.get(0).payloadAsString()).isEqualTo("alpha-1-a");
            assertThat(all.get((int) total).payloadAsString()).isEqualTo("alpha-next");
        }
    }

    @Tag("slow")
    /**
     * A producer that keeps each message's producer sequence and sends it again until it is
     * acknowledged, through five SIGKILLs of the broker: the stream ends up holding every message
     * exactly once, in the producer's order. Without idempotence, every lost acknowledgement would
     * become a duplicate.
     */
    @ParameterizedTest
    @EnumSource(value = BrokerConfig.Durability.class, names = {"ALWAYS", "BATCH"})
    void aRetryingProducerLeavesEveryMessageOnceInOrderThroughSigkills(BrokerConfig.Durability durability)
            throws Exception {
        Path socket = dir.resolve("w.sock");
        Path data = dir.resolve("data");
        int total = 6000;
        AtomicLong acked = new AtomicLong();
        Map<Long, Long> sequences = new ConcurrentHashMap<>();
        BrokerProcess broker = BrokerProcess.start(socket, data, durability, dir.resolve("broker.err"));
        try (WirebusClient c = WirebusClient.builder().address("unix://" + socket).name("idempotent-producer")
                .reconnectPolicy(ReconnectPolicy.exponential(Duration.ofMillis(20), Duration.ofMillis(200)))
                .requestTimeout(Duration.ofSeconds(60)).connect()) {
            CompletableFuture<Void> producing = CompletableFuture.runAsync(() -> {
                Semaphore window = new Semaphore(32);
                for (long i = 1; i <= total; i++) {
                    window.acquireUninterruptibly();
                    long n = i;
                    publishUntilAcked(c, n, sequences, acked, window);
                }
                window.acquireUninterruptibly(32);
            });
            for (int kill = 0; kill < 5; kill++) {
                long target = (kill + 1L) * total / 6 + ThreadLocalRandom.current().nextInt(200);
                await().atMost(Duration.ofSeconds(60)).until(() -> acked.get() >= target);
                broker.kill();
                broker = BrokerProcess.start(socket, data, durability, dir.resolve("broker.err"));
            }
            producing.get(120, TimeUnit.SECONDS);
            List<Message> all = readAll(c, "blocks");
            assertThat(all).as("every message once").hasSize(total);
            for (int i = 0; i < total; i++) {
                assertThat(all.get(i).payloadAsString()).isEqualTo("block-" + (i + 1));
                assertThat(sequences.get(i + 1L)).as("acknowledged sequence of block %d", i + 1).isEqualTo(i + 1L);
            }
        } finally {
            broker.close();
        }
    }

    /** Publishes block {@code n} with producer sequence {@code n}, again on any failure, until acknowledged. */
    private static void publishUntilAcked(WirebusClient c, long n, Map<Long, Long> sequences, AtomicLong acked,
                                          Semaphore window) {
        c.publish("blocks", utf8("block-" + n), producer("consensus", n)).whenComplete((ack, e) -> {
            if (e != null) {
                publishUntilAcked(c, n, sequences, acked, window);
                return;
            }
            sequences.put(n, ack.firstSequence());
            acked.incrementAndGet();
            window.release();
        });
    }
}
