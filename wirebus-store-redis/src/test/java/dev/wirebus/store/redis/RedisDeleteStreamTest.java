package dev.wirebus.store.redis;

import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.Message;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StoreChangedException;
import dev.wirebus.client.StreamInfo;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * DELETE_STREAM on the Redis store, with several brokers on one real redis-server: the stream, its
 * records, producers and durable consumers go for every broker; subscriptions and held publishes on
 * every broker end with NOT_FOUND; a later publish on any broker starts at sequence 1; every broker
 * reports the new store id, so a client resuming elsewhere gets STORE_CHANGED; a broker that missed
 * the deletion never mixes the deleted stream with the new one; max-streams counts every broker's
 * streams.
 */
class RedisDeleteStreamTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

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

    private static List<String> payloads(List<Message> messages) {
        return messages.stream().map(Message::payloadAsString).toList();
    }

    private static List<String> names(WirebusClient client) throws Exception {
        return client.streams("", 100).get(10, TimeUnit.SECONDS).streams().stream().map(StreamInfo::name).toList();
    }

    private static SubscribeOptions consumer(String name) {
        return SubscribeOptions.builder().consumer(name).ackMode(SubscribeOptions.AckMode.EXPLICIT)
                .start(StartPosition.earliest()).build();
    }

    private static void assertEndedNotFound(Subscription s) {
        assertThatThrownBy(() -> s.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                    assertThat(e.errorCode()).as(e.getMessage()).isEqualTo(ErrorCode.NOT_FOUND);
                    assertThat(e.getMessage()).contains("'blocks'", "deleted");
                });
    }

    private static void publish(WirebusClient client, String prefix, int n) throws Exception {
        List<CompletableFuture<PublishAck>> acks = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            acks.add(client.publish("blocks", utf8(prefix + i)));
        }
        for (CompletableFuture<PublishAck> a : acks) {
            a.get(10, TimeUnit.SECONDS);
        }
    }

    private String bulk(String... command) throws Exception {
        return redis.commandBulk(command);
    }

    @Test
    void aDeletionOnOneBrokerEndsTheStreamItsConsumersAndItsEpochOnEveryBroker() throws Exception {
        try (Nodes nodes = Nodes.start(3, redis.uri())) {
            RedisStorage storeA = nodes.stores.get(0);
            String[] keys = storeA.keys("blocks");
            long epoch = storeA.storeId();
            publish(nodes.client(0), "old", 30);
            nodes.client(0).publish("blocks", utf8("old31"), dev.wirebus.client.PublishOptions.builder()
                    .producer("exec-1", 1).build()).get(10, TimeUnit.SECONDS);
            nodes.client(0).publish("other", utf8("x")).get(10, TimeUnit.SECONDS);
            // on B: a plain subscriber and a durable consumer that acknowledged 10, both at the end
            List<Message> plain = new CopyOnWriteArrayList<>();
            List<Message> executed = new CopyOnWriteArrayList<>();
            Subscription onB = nodes.client(1).subscribe("blocks", StartPosition.earliest(), plain::add);
            Subscription consumerOnB = nodes.client(1).subscribe("blocks", consumer("exec"), executed::add);
            await().atMost(WAIT).until(() -> plain.size() == 31 && executed.size() == 31);
            consumerOnB.ack(10).get(10, TimeUnit.SECONDS);
            assertThat(redis.command("HEXISTS", keys[3], "exec")).isEqualTo(":1");
            assertThat(redis.command("HEXISTS", keys[2], "exec-1")).isEqualTo(":1");
            // C has the stream open too (another broker created it)
            await().atMost(WAIT).untilAsserted(() -> assertThat(names(nodes.client(2))).contains("blocks"));

            nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);

            assertEndedNotFound(onB);
            assertEndedNotFound(consumerOnB);
            assertThat(plain).hasSize(31);
            // in Redis: records, producers and consumers gone; only the generation stays in the meta hash
            assertThat(redis.command("EXISTS", keys[0], keys[2], keys[3])).isEqualTo(":0");
            assertThat(redis.command("HGET", keys[1], "next")).isEqualTo("$-1");
            assertThat(bulk("HGET", keys[1], "gen")).isEqualTo("1");
            assertThat(redis.command("SISMEMBER", "wirebus:streams", "blocks")).isEqualTo(":0");
            long fresh = Long.parseLong(bulk("GET", "wirebus:store-id"));
            assertThat(fresh).as("a new epoch").isNotEqualTo(epoch);
            assertThat(storeA.storeId()).isEqualTo(fresh);
            for (int i = 0; i < 3; i++) {
                RedisStorage store = nodes.stores.get(i);
                WirebusClient client = nodes.client(i);
                await().atMost(WAIT).untilAsserted(() -> {
                    assertThat(store.storeId()).isEqualTo(fresh);
                    assertThat(names(client)).containsExactly("other");
                });
            }
            assertThatThrownBy(() -> nodes.client(2).deleteStream("blocks").get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ServerRefusedException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.NOT_FOUND));

            // created anew from sequence 1, whichever broker publishes
            assertThat(nodes.client(1).publish("blocks", utf8("new1")).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(1);
            assertThat(nodes.client(2).publish("blocks", utf8("new2")).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(2);
            // the producer's state went with it: its batch 1 is new again, not a duplicate of old31
            PublishAck again = nodes.client(0).publish("blocks", utf8("new3"), dev.wirebus.client.PublishOptions
                    .builder().producer("exec-1", 1).build()).get(10, TimeUnit.SECONDS);
            assertThat(again.duplicate()).isFalse();
            assertThat(again.firstSequence()).isEqualTo(3);
            // B's subscribers from EARLIEST see the new stream only, no old tail
            List<Message> fromEarliest = new CopyOnWriteArrayList<>();
            nodes.client(1).subscribe("blocks", StartPosition.earliest(), fromEarliest::add)
                    .started().get(10, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> fromEarliest.size() >= 3);
            assertThat(payloads(fromEarliest)).containsExactly("new1", "new2", "new3");
            assertThat(fromEarliest).extracting(Message::sequence).containsExactly(1L, 2L, 3L);
            // the durable consumer's position is gone on every broker: it starts over where asked
            for (int i = 0; i < 2; i++) {
                Subscription s = nodes.client(i).subscribe("blocks", consumer("exec"), m -> { });
                assertThat(s.started().get(10, TimeUnit.SECONDS)).as("consumer on node %d", i).isEqualTo(1);
                s.close();
            }
        }
    }

    @Test
    void aPublishHeldOnAnotherBrokerFailsWithNotFoundAndTheGatingConsumerEnds() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.publishWait(Duration.ofSeconds(60)))) {
            List<Message> got = new CopyOnWriteArrayList<>();
            Subscription gate = nodes.client(0).subscribe("blocks", SubscribeOptions.builder().consumer("exec")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(1).build(), got::add);
            gate.started().get(10, TimeUnit.SECONDS);
            assertThat(nodes.client(1).publish("blocks", utf8("1")).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(1);
            CompletableFuture<PublishAck> held = nodes.client(1).publish("blocks", utf8("2"));
            await().atMost(WAIT).until(() -> got.size() == 1);
            assertThat(held).isNotDone();

            nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);

            assertThatThrownBy(() -> held.get(WAIT.toSeconds(), TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.NOT_FOUND);
                        assertThat(e.getMessage()).contains("'blocks' was deleted", "nothing was appended");
                    });
            assertEndedNotFound(gate);
            assertThat(redis.command("EXISTS", nodes.stores.get(0).keys("blocks")[0])).isEqualTo(":0");
        }
    }

    @Test
    void aClientThatFailsOverToAnotherBrokerAfterTheDeletionGetsStoreChanged() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            String a = "tcp://127.0.0.1:" + nodes.broker(0).tcpAddress().getPort();
            String b = "tcp://127.0.0.1:" + nodes.broker(1).tcpAddress().getPort();
            try (WirebusClient client = WirebusClient.builder().addresses(a, b).connect()) {
                assertThat(client.address()).isEqualTo(a);
                client.publish("other", utf8("1")).get(10, TimeUnit.SECONDS);
                client.publish("blocks", utf8("1")).get(10, TimeUnit.SECONDS);
                Subscription other = client.subscribe("other", StartPosition.earliest(), m -> { });
                other.started().get(10, TimeUnit.SECONDS);

                nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);
                long fresh = nodes.stores.get(0).storeId();
                await().atMost(WAIT).until(() -> nodes.stores.get(1).storeId() == fresh);
                nodes.broker(0).close();

                await().atMost(WAIT).until(() -> client.state() == ConnectionState.CONNECTED
                        && client.address().equals(b));
                assertThatThrownBy(() -> other.closed().get(WAIT.toSeconds(), TimeUnit.SECONDS)).cause()
                        .isInstanceOf(StoreChangedException.class);
                // the stream that was not deleted goes on in the same sequence space
                assertThat(client.publish("other", utf8("2")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(2);
            }
        }
    }

    @Test
    void anAppendFromABrokerThatMissedTheDeletionIsRefusedAndNeverJoinsTheNewStream() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            publish(nodes.client(0), "old", 30);
            List<Message> onB = new CopyOnWriteArrayList<>();
            Subscription subscriber = nodes.client(1).subscribe("blocks", StartPosition.earliest(), onB::add);
            await().atMost(WAIT).until(() -> onB.size() == 30); // B's tail ends at 31
            nodes.stores.get(1).watching(false);

            nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);

            // B heard nothing: its append carries the deleted generation, and Redis refuses it
            assertThatThrownBy(() -> nodes.client(1).publish("blocks", utf8("stale")).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.NOT_FOUND);
                        assertThat(e.getMessage()).contains("'blocks' was deleted", "nothing was appended");
                    });
            assertThat(redis.command("EXISTS", nodes.stores.get(0).keys("blocks")[0])).isEqualTo(":0");
            // B dropped its log on that answer: its subscription ends as on a deletion it heard of
            assertEndedNotFound(subscriber);
            assertThat(onB).hasSize(30);
            await().atMost(WAIT).untilAsserted(() -> assertThat(names(nodes.client(1))).doesNotContain("blocks"));
            assertThat(nodes.client(1).publish("blocks", utf8("new1")).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(1);
            List<Message> fromEarliest = new CopyOnWriteArrayList<>();
            nodes.client(1).subscribe("blocks", StartPosition.earliest(), fromEarliest::add)
                    .started().get(10, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> !fromEarliest.isEmpty());
            assertThat(payloads(fromEarliest)).containsExactly("new1");
        }
    }

    @Test
    void aBrokerThatMissedTheDeletionNeverReadsTheNewStreamIntoTheOldTail() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            publish(nodes.client(0), "old", 30);
            List<Message> onB = new CopyOnWriteArrayList<>();
            Subscription subscriber = nodes.client(1).subscribe("blocks", StartPosition.earliest(), onB::add);
            await().atMost(WAIT).until(() -> onB.size() == 30);
            nodes.stores.get(1).watching(false);
            nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);
            // the stream created anew grows past B's tail (31) while B hears nothing
            publish(nodes.client(0), "new", 40);

            // B hears again: the next announcement (or its check) reads from sequence 31, finds another generation
            nodes.stores.get(1).watching(true);
            nodes.client(0).publish("blocks", utf8("new41")).get(10, TimeUnit.SECONDS);
            assertEndedNotFound(subscriber);
            assertThat(payloads(onB)).as("the deleted stream's records only").hasSize(30)
                    .allMatch(p -> p.startsWith("old"));
            List<Message> fromEarliest = new CopyOnWriteArrayList<>();
            nodes.client(1).subscribe("blocks", StartPosition.earliest(), fromEarliest::add)
                    .started().get(10, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> fromEarliest.size() >= 41);
            assertThat(fromEarliest).extracting(Message::sequence).first().isEqualTo(1L);
            assertThat(payloads(fromEarliest).get(40)).isEqualTo("new41");
        }
    }

    @Test
    void anAcknowledgementFromABrokerThatMissedTheDeletionStoresNothing() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            String[] keys = nodes.stores.get(0).keys("blocks");
            publish(nodes.client(0), "old", 5);
            List<Message> got = new CopyOnWriteArrayList<>();
            Subscription exec = nodes.client(1).subscribe("blocks", consumer("exec"), got::add);
            await().atMost(WAIT).until(() -> got.size() == 5);
            exec.ack(2).get(10, TimeUnit.SECONDS);
            nodes.stores.get(1).watching(false);
            nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);

            // answered as for a consumer deleted with its stream; the new stream gets no consumer from it
            exec.ack(5).get(10, TimeUnit.SECONDS);
            assertThat(redis.command("HEXISTS", keys[3], "exec")).isEqualTo(":0");
            assertEndedNotFound(exec);
            assertThat(nodes.client(0).publish("blocks", utf8("new1")).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(1);
            Subscription again = nodes.client(0).subscribe("blocks", consumer("exec"), m -> { });
            assertThat(again.started().get(10, TimeUnit.SECONDS)).isEqualTo(1);
        }
    }

    @Test
    void maxStreamsCountsTheStreamsOfEveryBrokerAndADeletedOneNoMore() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.maxStreams(2))) {
            // B does not open the streams A creates: its own count stays below the limit, the store's does not
            nodes.stores.get(1).watching(false);
            nodes.client(0).publish("s1", utf8("1")).get(10, TimeUnit.SECONDS);
            nodes.client(1).publish("s2", utf8("1")).get(10, TimeUnit.SECONDS);
            assertThat(names(nodes.client(1))).containsExactly("s2");
            assertThatThrownBy(() -> nodes.client(1).publish("s3", utf8("1")).get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.STREAM_LIMIT);
                        assertThat(e.getMessage()).contains("'s3'", "store holds 2 streams (of every broker",
                                "max-streams 2");
                    });
            // a subscription opens the stored stream on a shared store: refused the same way
            Subscription waiting = nodes.client(1).subscribe("s3", StartPosition.earliest(), m -> { });
            assertThatThrownBy(() -> waiting.started().get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ServerRefusedException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.STREAM_LIMIT));
            assertThatThrownBy(() -> nodes.client(0).publish("s3", utf8("1")).get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ServerRefusedException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.STREAM_LIMIT));
            assertThat(redis.command("SISMEMBER", "wirebus:streams", "s3")).isEqualTo(":0");
            // streams that exist are still served everywhere
            assertThat(nodes.client(0).publish("s2", utf8("2")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(2);

            nodes.client(0).deleteStream("s1").get(10, TimeUnit.SECONDS);
            assertThat(nodes.client(1).publish("s3", utf8("1")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1);
            assertThat(redis.command("SCARD", "wirebus:streams")).isEqualTo(":2");
        }
    }
}
