package dev.wirebus.store.redis;

import dev.wirebus.client.Message;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Several brokers on one real redis-server serve the same streams with every guarantee of one. */
class RedisStoreAcrossBrokersTest {
    @TempDir
    Path dir;
    RedisServer redis;

    @BeforeEach
    void startRedis() throws Exception {
        redis = RedisServer.start(dir.resolve("redis"));
    }

    @AfterEach
    void stopRedis() throws Exception {
        if (redis != null) {
            redis.close();
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static PublishOptions producer(String id, long seq) {
        return PublishOptions.builder().producer(id, seq).build();
    }

    /** Collects what a subscription delivers. */
    private static final class Received {
        final List<Message> messages = new CopyOnWriteArrayList<>();

        void add(Message m) {
            messages.add(m);
        }

        List<Long> sequences() {
            return messages.stream().map(Message::sequence).toList();
        }

        List<String> payloads() {
            return messages.stream().map(Message::payloadAsString).toList();
        }
    }

    private static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long s = from; s <= to; s++) {
            out.add(s);
        }
        return out;
    }

    @Test
    void aPublishOnOneBrokerIsDeliveredByEveryOtherInOrder() throws Exception {
        try (Nodes nodes = Nodes.start(3, redis.uri())) {
            Received onB = new Received();
            Received onC = new Received();
            Subscription b = nodes.client(1).subscribe("chat", StartPosition.earliest(), onB::add);
            Subscription c = nodes.client(2).subscribe("chat", StartPosition.earliest(), onC::add);
            b.started().get(10, TimeUnit.SECONDS);
            c.started().get(10, TimeUnit.SECONDS);
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 1; i <= 300; i++) {
                acks.add(nodes.client(0).publish("chat", utf8("m" + i)).thenApply(PublishAck::firstSequence));
            }
            for (int i = 0; i < acks.size(); i++) {
                assertThat(acks.get(i).get(10, TimeUnit.SECONDS)).isEqualTo(i + 1);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> onB.messages.size() >= 300 && onC.messages.size() >= 300);
            assertThat(onB.sequences()).isEqualTo(range(1, 300));
            assertThat(onC.sequences()).isEqualTo(range(1, 300));
            assertThat(onB.payloads().get(299)).isEqualTo("m300");
            // history is one path with live: a late subscriber on another broker reads the same records
            Received late = new Received();
            nodes.client(2).subscribe("chat", StartPosition.sequence(250), late::add).started().get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(20)).until(() -> late.messages.size() >= 51);
            assertThat(late.sequences()).isEqualTo(range(250, 300));
            assertThat(nodes.client(1).fetch("chat", 1, 10).get(10, TimeUnit.SECONDS).messages())
                    .extracting(Message::payloadAsString).startsWith("m1", "m2");
        }
    }

    @Test
    void concurrentPublishersOnDifferentBrokersWinEachExpectedSequenceExactlyOnce() throws Exception {
        int n = 150;
        try (Nodes nodes = Nodes.start(3, redis.uri())) {
            Map<Long, String> winners = new ConcurrentHashMap<>();
            List<CompletableFuture<Void>> publishers = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                WirebusClient client = nodes.client(p);
                String who = "p" + p;
                publishers.add(CompletableFuture.runAsync(() -> {
                    for (long s = 1; s <= n; s++) {
                        try {
                            long seq = client.publish("race", utf8(who + ":" + s), s).get(20, TimeUnit.SECONDS).firstSequence();
                            assertThat(seq).isEqualTo(s);
                            assertThat(winners.putIfAbsent(s, who)).as("sequence %d won twice", s).isNull();
                        } catch (ExecutionException e) {
                            assertThat(e.getCause()).isInstanceOf(SequenceMismatchException.class);
                        } catch (Exception e) {
                            throw new AssertionError(e);
                        }
                    }
                }));
            }
            CompletableFuture.allOf(publishers.toArray(new CompletableFuture[0])).get(120, TimeUnit.SECONDS);
            assertThat(winners).hasSize(n);
            // broker 1 may not have read the last appends of the others yet: its view follows
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                    assertThat(nodes.client(1).fetch("race", 1, 0).get(10, TimeUnit.SECONDS).lastSequence()).isEqualTo(n));
            List<Message> all = new ArrayList<>();
            while (all.size() < n) {
                all.addAll(nodes.client(2).fetch("race", all.size() + 1, n).get(10, TimeUnit.SECONDS).messages());
            }
            for (Message m : all) {
                assertThat(m.payloadAsString()).isEqualTo(winners.get(m.sequence()) + ":" + m.sequence());
            }
        }
    }

    @Test
    void aBrokerThatAcknowledgedAPublishServesItToTheSameClientAtOnce() throws Exception {
        // publishes alternate between two brokers: each ack from B follows an append by A that B's
        // tail may not have read yet; B reads its own acknowledged record all the same
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            for (int i = 1; i <= 200; i += 2) {
                CompletableFuture<PublishAck> onA = nodes.client(0).publish("ryw", utf8("a" + i));
                long seq = nodes.client(1).publish("ryw", utf8("b" + (i + 1))).get(10, TimeUnit.SECONDS).firstSequence();
                onA.get(10, TimeUnit.SECONDS);
                List<Message> read = nodes.client(1).fetch("ryw", seq, 1).get(10, TimeUnit.SECONDS).messages();
                assertThat(read).as("broker B serves sequence %d it acknowledged", seq)
                        .extracting(Message::payloadAsString).containsExactly("b" + (i + 1));
            }
        }
    }

    @Test
    void anIdempotentProducerIsAppendedOnceWhicheverBrokerItResendsTo() throws Exception {
        try (Nodes nodes = Nodes.start(3, redis.uri())) {
            PublishAck first = nodes.client(0).publish("tx", utf8("a"), producer("exec-1", 1)).get(10, TimeUnit.SECONDS);
            PublishAck again = nodes.client(1).publish("tx", utf8("a"), producer("exec-1", 1)).get(10, TimeUnit.SECONDS);
            assertThat(first.duplicate()).isFalse();
            assertThat(again.duplicate()).isTrue();
            assertThat(again.firstSequence()).isEqualTo(first.firstSequence());
            nodes.client(1).publish("tx", utf8("other"), PublishOptions.none()).get(10, TimeUnit.SECONDS);
            PublishAck second = nodes.client(2).publishBatch("tx", List.of(utf8("b1"), utf8("b2")), producer("exec-1", 2))
                    .get(10, TimeUnit.SECONDS);
            assertThat(second.firstSequence()).isEqualTo(3);
            assertThat(nodes.client(0).publishBatch("tx", List.of(utf8("b1"), utf8("b2")), producer("exec-1", 2))
                    .get(10, TimeUnit.SECONDS)).isEqualTo(new PublishAck(3, 2, true));
            assertThat(nodes.client(1).publish("tx", utf8("a"), producer("exec-1", 1)).get(10, TimeUnit.SECONDS))
                    .isEqualTo(new PublishAck(1, 1, true));
            assertThat(nodes.client(2).fetch("tx", 1, 0).get(10, TimeUnit.SECONDS).lastSequence()).isEqualTo(4);
        }
    }

    @Test
    void aProducerSequenceOutOfOrderIsRefusedOnAnyBroker() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            nodes.client(0).publish("tx", utf8("x"), producer("p", 10)).get(10, TimeUnit.SECONDS);
            nodes.client(1).publish("tx", utf8("y"), producer("p", 12)).get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> nodes.client(0).publish("tx", utf8("late"), producer("p", 11)).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE);
                        assertThat(e.getMessage()).contains("producer 'p'", "11", "out of order");
                        assertThat(e.lastProducerSequence()).hasValue(12);
                    });
            assertThat(nodes.client(1).fetch("tx", 1, 0).get(10, TimeUnit.SECONDS).lastSequence()).isEqualTo(2);
        }
    }

    @Test
    void aConsumerMovedToAnotherBrokerResumesAfterItsAcknowledgedSequenceAndStillGates() throws Exception {
        try (Nodes nodes = Nodes.start(3, redis.uri(), b -> b.publishWait(Duration.ofSeconds(30)))) {
            SubscribeOptions gated = SubscribeOptions.builder().consumer("exec").ackMode(SubscribeOptions.AckMode.EXPLICIT)
                    .maxLag(3).start(StartPosition.earliest()).build();
            Received onA = new Received();
            Subscription a = nodes.client(0).subscribe("jobs", gated, onA::add);
            a.started().get(10, TimeUnit.SECONDS);
            // the producer is on broker B: the gate of a consumer on A holds it
            for (int i = 1; i <= 3; i++) {
                assertThat(nodes.client(1).publish("jobs", utf8("j" + i)).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(i);
            }
            CompletableFuture<Long> fourth = nodes.client(1).publish("jobs", utf8("j4")).thenApply(PublishAck::firstSequence);
            await().atMost(Duration.ofSeconds(20)).until(() -> onA.messages.size() == 3);
            assertThat(fourth).isNotDone();
            a.ack(2).get(10, TimeUnit.SECONDS);
            assertThat(fourth.get(20, TimeUnit.SECONDS)).isEqualTo(4);
            a.close();
            // the consumer moves to broker C: it resumes after sequence 2, whatever C saw before
            Received onC = new Received();
            Subscription c = nodes.client(2).subscribe("jobs", SubscribeOptions.builder().consumer("exec")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(3).build(), onC::add);
            assertThat(c.started().get(10, TimeUnit.SECONDS)).isEqualTo(3);
            await().atMost(Duration.ofSeconds(20)).until(() -> onC.messages.size() == 2);
            assertThat(onC.sequences()).containsExactly(3L, 4L);
            // still gated from C: lag is 2 (acked 2, last 4), a 5th fits, a 6th waits for an ack on C
            assertThat(nodes.client(1).publish("jobs", utf8("j5")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(5);
            CompletableFuture<Long> sixth = nodes.client(0).publish("jobs", utf8("j6")).thenApply(PublishAck::firstSequence);
            await().atMost(Duration.ofSeconds(20)).until(() -> onC.messages.size() == 3);
            assertThat(sixth).isNotDone();
            c.ack(5).get(10, TimeUnit.SECONDS);
            assertThat(sixth.get(20, TimeUnit.SECONDS)).isEqualTo(6);
            assertThat(nodes.client(2).consumers("jobs").get(10, TimeUnit.SECONDS).consumers())
                    .anySatisfy(ci -> assertThat(ci.ackedSequence()).isEqualTo(5));
        }
    }

    @Test
    void pipelinedPublishesHeldByAGateOnAnotherBrokerAreAppendedInTheirOrderAsTheConsumerAcknowledges()
            throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.publishWait(Duration.ofSeconds(60)))) {
            List<Message> got = new CopyOnWriteArrayList<>();
            java.util.concurrent.atomic.AtomicReference<Subscription> sub = new java.util.concurrent.atomic.AtomicReference<>();
            sub.set(nodes.client(0).subscribe("paced", SubscribeOptions.builder().consumer("worker")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(2).build(), m -> {
                        got.add(m);
                        sub.get().ack(m.sequence()); // each message acknowledged as it is handled
                    }));
            sub.get().started().get(10, TimeUnit.SECONDS);
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 1; i <= 200; i++) {
                acks.add(nodes.client(1).publish("paced", utf8("p" + i)).thenApply(PublishAck::firstSequence));
            }
            for (int i = 0; i < acks.size(); i++) {
                assertThat(acks.get(i).get(60, TimeUnit.SECONDS)).isEqualTo(i + 1);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> got.size() == 200);
            assertThat(got).extracting(Message::payloadAsString)
                    .isEqualTo(java.util.stream.IntStream.rangeClosed(1, 200).mapToObj(i -> "p" + i).toList());
        }
    }

    @Test
    void retentionByMessagesDropsWholeBatchesFromTheFrontForEveryBroker() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.retentionMessages(10))) {
            for (int i = 1; i <= 30; i++) {
                nodes.client(0).publish("short", utf8("s" + i)).get(10, TimeUnit.SECONDS);
            }
            // the other broker reads below its tail from Redis, where sequences 1..20 are gone
            assertThatThrownBy(() -> nodes.client(1).fetch("short", 1, 5).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
                        assertThat(e.firstRetainedSequence()).hasValue(21);
                    });
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(nodes.client(1).fetch("short", 21, 100).get(10, TimeUnit.SECONDS).messages())
                            .extracting(Message::payloadAsString).first().isEqualTo("s21"));
            assertThat(redis.command("XLEN", nodes.stores.get(0).keys("short")[0])).isEqualTo(":10");
        }
    }

    @Test
    void aGatedPublishTimesOutAndIsNotAppended() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.publishWait(Duration.ofMillis(300)))) {
            Subscription a = nodes.client(0).subscribe("slow", SubscribeOptions.builder().consumer("c")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(1).build(), m -> { });
            a.started().get(10, TimeUnit.SECONDS);
            nodes.client(1).publish("slow", utf8("1")).get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> nodes.client(1).publish("slow", utf8("2")).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOf(dev.wirebus.client.WirebusTimeoutException.class)
                    .hasMessageContaining("consumer 'c' (lag 1, max lag 1)").hasMessageContaining("nothing was appended");
            assertThat(redis.command("XLEN", nodes.stores.get(0).keys("slow")[0])).isEqualTo(":1");
        }
    }
}
