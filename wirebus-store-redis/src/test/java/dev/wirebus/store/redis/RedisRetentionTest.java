package dev.wirebus.store.redis;

import dev.wirebus.client.Message;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StreamInfo;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Retention by bytes, by age and TRIM_STREAM applied in Redis, so every broker on it keeps the
 * same records: whole batches from the front, {@code bytes} in the stream's meta always the sum of
 * what is retained, and readers below it told the first sequence retained.
 */
class RedisRetentionTest {
    /** Each record costs its payload and a 4-byte length. */
    private static final int RECORD = 100 + 4;

    @TempDir
    Path dir;
    RedisServer redis;
    RedisClient lettuce;
    StatefulRedisConnection<String, byte[]> connection;
    RedisCommands<String, byte[]> inspect;

    @BeforeEach
    void startRedis() throws Exception {
        redis = RedisServer.start(dir.resolve("redis"));
        lettuce = RedisClient.create(redis.uri());
        connection = lettuce.connect(RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE));
        inspect = connection.sync();
    }

    @AfterEach
    void stopRedis() throws Exception {
        if (connection != null) {
            connection.close();
        }
        if (lettuce != null) {
            lettuce.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
        if (redis != null) {
            redis.close();
        }
    }

    private static List<byte[]> batch(int records, char fill) {
        byte[] payload = new byte[100];
        java.util.Arrays.fill(payload, (byte) fill);
        return Collections.nCopies(records, payload);
    }

    private static String text(byte[] b) {
        return b == null ? null : new String(b, StandardCharsets.US_ASCII);
    }

    /** What Redis holds for a stream: the entries' first sequences and the `b` sum, and the meta hash. */
    private record Held(List<Long> firsts, long sumOfB, long metaBytes, long metaFirst, List<Long> times) {
    }

    private Held held(Nodes nodes, String stream) {
        String[] keys = nodes.stores.get(0).keys(stream);
        List<Long> firsts = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        long sum = 0;
        for (StreamMessage<String, byte[]> m : inspect.xrange(keys[0], Range.create("-", "+"))) {
            firsts.add(Long.parseLong(m.getId().substring(0, m.getId().indexOf('-'))));
            assertThat(m.getBody().get("b")).as("b of %s", m.getId()).isNotNull();
            sum += Long.parseLong(text(m.getBody().get("b")));
            assertThat(Long.parseLong(text(m.getBody().get("b")))).isEqualTo(m.getBody().get("r").length);
            times.add(Long.parseLong(text(m.getBody().get("t"))));
        }
        String bytes = text(inspect.hget(keys[1], "bytes"));
        String first = text(inspect.hget(keys[1], "first"));
        return new Held(firsts, sum, bytes == null ? 0 : Long.parseLong(bytes), first == null ? 1 : Long.parseLong(first),
                times);
    }

    private static StreamInfo listed(WirebusClient client, String stream) throws Exception {
        return client.streams("", 100).get(10, TimeUnit.SECONDS).streams().stream()
                .filter(s -> s.name().equals(stream)).findFirst().orElseThrow();
    }

    private static void assertNotRetained(WirebusClient client, String stream, long from, long firstRetained) {
        assertThatThrownBy(() -> client.fetch(stream, from, 5).get(10, TimeUnit.SECONDS))
                .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
                    assertThat(e.firstRetainedSequence()).hasValue(firstRetained);
                });
    }

    /** Redis' clock in milliseconds, as the scripts read it. */
    private long redisMillis() {
        List<byte[]> time = inspect.time();
        return Long.parseLong(text(time.get(0))) * 1000 + Long.parseLong(text(time.get(1))) / 1000;
    }

    @Test
    void retentionByBytesDropsWholeBatchesFromTheFrontForEveryBroker() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.retentionBytes(1000))) {
            // batches of 3 records, 312 bytes each: three fit in 1000 bytes, a fourth does not
            for (int i = 0; i < 10; i++) {
                assertThat(nodes.client(0).publishBatch("sized", batch(3, (char) ('a' + i))).get(10, TimeUnit.SECONDS)
                        .firstSequence()).isEqualTo(1 + 3L * i);
            }
            Held h = held(nodes, "sized");
            assertThat(h.firsts()).containsExactly(22L, 25L, 28L);
            assertThat(h.metaBytes()).isEqualTo(h.sumOfB()).isEqualTo(9L * RECORD);
            assertThat(h.metaFirst()).isEqualTo(22);
            assertNotRetained(nodes.client(0), "sized", 21, 22);
            // the other broker's view follows the announcement: eventually it refuses below 22 too
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertNotRetained(nodes.client(1), "sized", 1, 22));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(nodes.client(1).fetch("sized", 22, 100).get(10, TimeUnit.SECONDS).messages())
                            .extracting(Message::sequence).startsWith(22L).hasSize(9));
            for (int n = 0; n < 2; n++) {
                WirebusClient client = nodes.client(n);
                // the sizes are Redis' (shared); the last sequence is each broker's view, so it may lag
                assertThat(listed(client, "sized").bytes()).as("STREAMS on node %d", n).isEqualTo(9L * RECORD);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(listed(client, "sized").lastSequence()).isEqualTo(30));
            }
            // a batch larger than the limit drops everything before it, and stays itself
            nodes.client(1).publishBatch("sized", batch(12, 'z')).get(10, TimeUnit.SECONDS);
            h = held(nodes, "sized");
            assertThat(h.firsts()).containsExactly(31L);
            assertThat(h.metaBytes()).isEqualTo(h.sumOfB()).isEqualTo(12L * RECORD);
            // and the next one, from the other broker, drops it
            nodes.client(0).publishBatch("sized", batch(1, 'y')).get(10, TimeUnit.SECONDS);
            h = held(nodes, "sized");
            assertThat(h.firsts()).containsExactly(43L);
            assertThat(h.metaBytes()).isEqualTo(h.sumOfB()).isEqualTo(RECORD);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertNotRetained(nodes.client(1), "sized", 31, 43));
        }
    }

    /** One record of {@code payload} bytes as the log stores it: a 4-byte length, then the payload. */
    private static byte[] record(int payload, char fill) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + payload).putInt(payload);
        while (b.hasRemaining()) {
            b.put((byte) fill);
        }
        return b.array();
    }

    @Test
    void aSweepDropsBatchesOlderThanTheAgeByRedisClockWithNoFurtherPublish() throws Exception {
        // a stream whose first two batches were appended two hours ago by Redis' clock, the third now
        // (written as append.lua writes them), read by brokers keeping one hour
        long now = redisMillis();
        String base = "wirebus:{old}:";
        long[] stamps = {now - 7_200_000, now - 7_100_000, now};
        for (int i = 0; i < 3; i++) {
            inspect.xadd(base + "log", new io.lettuce.core.XAddArgs().id((i + 1) + "-0"), java.util.Map.of(
                    "n", "1".getBytes(StandardCharsets.US_ASCII), "r", record(100, (char) ('a' + i)),
                    "p", new byte[0], "q", "0".getBytes(StandardCharsets.US_ASCII),
                    "b", Integer.toString(RECORD).getBytes(StandardCharsets.US_ASCII),
                    "t", Long.toString(stamps[i]).getBytes(StandardCharsets.US_ASCII)));
        }
        inspect.hset(base + "meta", java.util.Map.of("next", ascii(4), "first", ascii(1), "bytes", ascii(3 * RECORD),
                "firstTime", ascii(stamps[0])));
        inspect.sadd("wirebus:streams", "old".getBytes(StandardCharsets.UTF_8));
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.retentionAge(Duration.ofHours(1)))) {
            assertThat(nodes.stores.get(0).keys("old")[0]).isEqualTo(base + "log");
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                Held h = held(nodes, "old");
                assertThat(h.firsts()).containsExactly(3L);
                assertThat(h.metaFirst()).isEqualTo(3);
                assertThat(h.metaBytes()).isEqualTo(h.sumOfB()).isEqualTo(RECORD);
            });
            for (int n = 0; n < 2; n++) {
                WirebusClient client = nodes.client(n);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertNotRetained(client, "old", 2, 3));
                assertThat(client.fetch("old", 3, 10).get(10, TimeUnit.SECONDS).messages())
                        .extracting(Message::payloadAsString).containsExactly("c".repeat(100));
            }
            // an append is stamped with Redis' clock as it runs
            long before = redisMillis();
            assertThat(nodes.client(1).publish("old", new byte[100]).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(4);
            long after = redisMillis();
            Held h = held(nodes, "old");
            assertThat(h.firsts()).containsExactly(3L, 4L);
            assertThat(h.times().get(1)).isBetween(before, after);
            assertThat(h.metaBytes()).isEqualTo(h.sumOfB()).isEqualTo(2L * RECORD);
        }
    }

    private static byte[] ascii(long n) {
        return Long.toString(n).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void ageEmptiesAStreamThatReceivesNoMorePublishesAndItGoesOnWhereItWas() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.retentionAge(Duration.ofSeconds(1)))) {
            for (int i = 0; i < 3; i++) {
                nodes.client(0).publishBatch("aging", batch(2, 'a')).get(10, TimeUnit.SECONDS);
            }
            // no publish follows: the brokers' periodic sweep drops every batch once it is a second old
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                Held now = held(nodes, "aging");
                assertThat(now.firsts()).isEmpty();
                assertThat(now.metaBytes()).isZero();
                assertThat(now.metaFirst()).isEqualTo(7);
            });
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertNotRetained(nodes.client(1), "aging", 1, 7));
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(listed(nodes.client(1), "aging").firstSequence()).isEqualTo(7));
            assertThat(listed(nodes.client(0), "aging").bytes()).isZero();
            assertThat(nodes.client(1).publish("aging", new byte[100]).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(7);
        }
    }

    @Test
    void aSubscriberOnAnotherBrokerThatFallsBehindRetentionIsClosedWithSequenceNotRetained() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri(), b -> b.retentionBytes(5 * RECORD));
             WirebusClient slow = WirebusClient.builder().address("tcp://127.0.0.1:"
                     + nodes.broker(1).tcpAddress().getPort()).subscriptionWindow(2).connect()) {
            CountDownLatch release = new CountDownLatch(1);
            List<Long> got = new java.util.concurrent.CopyOnWriteArrayList<>();
            Subscription sub = slow.subscribe("fast", StartPosition.earliest(), m -> {
                got.add(m.sequence());
                try {
                    release.await(30, TimeUnit.SECONDS); // the handler holds its window until released
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            sub.started().get(10, TimeUnit.SECONDS);
            nodes.client(0).publish("fast", new byte[100]).get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 1);
            for (int i = 2; i <= 20; i++) {
                nodes.client(0).publish("fast", new byte[100]).get(10, TimeUnit.SECONDS);
            }
            assertThat(held(nodes, "fast").firsts()).containsExactly(16L, 17L, 18L, 19L, 20L);
            // once the subscriber's broker knows, the subscription cannot go on from where it is
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(listed(nodes.client(1), "fast").firstSequence()).isEqualTo(16));
            release.countDown();
            assertThatThrownBy(() -> sub.closed().get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
                        assertThat(e.firstRetainedSequence()).hasValue(16);
                    });
            assertThat(got).doesNotContain(16L).allSatisfy(s -> assertThat(s).isLessThan(16));
        }
    }

    @Test
    void aTailBehindRecordsThatWereAllDroppedBeforeItReadThemGoesOnFromTheFirstRetained() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            nodes.client(0).publish("dropped", new byte[100]).get(10, TimeUnit.SECONDS);
            List<Long> got = new java.util.concurrent.CopyOnWriteArrayList<>();
            Subscription waiting = nodes.client(1).subscribe("dropped", StartPosition.earliest(), m -> got.add(m.sequence()));
            waiting.started().get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> got.equals(List.of(1L)));
            // as Redis is left when batches 2..3 were appended and then dropped, with the batch before them, by
            // an age sweep or TRIM_STREAM before the brokers' tails read them: nothing held, next 4, announced
            String[] keys = nodes.stores.get(0).keys("dropped");
            inspect.xtrim(keys[0], 0);
            inspect.hset(keys[1], java.util.Map.of("next", ascii(4), "first", ascii(4), "bytes", ascii(0)));
            inspect.hdel(keys[1], "firstTime");
            inspect.publish("wirebus:events", "a dropped 4 4".getBytes(StandardCharsets.UTF_8));
            // the subscriber waiting at 2 cannot go on without a gap: it is told so
            assertThatThrownBy(() -> waiting.closed().get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
                        assertThat(e.firstRetainedSequence()).hasValue(4);
                    });
            for (int n = 0; n < 2; n++) {
                WirebusClient client = nodes.client(n);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                    StreamInfo info = listed(client, "dropped");
                    assertThat(info.firstSequence()).isEqualTo(4);
                    assertThat(info.lastSequence()).isEqualTo(3);
                });
            }
            // and the stream goes on at 4 on both brokers
            List<Long> after = new java.util.concurrent.CopyOnWriteArrayList<>();
            nodes.client(1).subscribe("dropped", StartPosition.earliest(), m -> after.add(m.sequence()))
                    .started().get(10, TimeUnit.SECONDS);
            assertThat(nodes.client(0).publish("dropped", new byte[100]).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(4);
            await().atMost(Duration.ofSeconds(10)).until(() -> after.equals(List.of(4L)));
        }
    }

    @Test
    void trimStreamDropsWholeBatchesBelowTheSequenceForEveryBroker() throws Exception {
        try (Nodes nodes = Nodes.start(2, redis.uri())) {
            for (int i = 0; i < 4; i++) {
                nodes.client(0).publish("trimmed", new byte[100]).get(10, TimeUnit.SECONDS);
            }
            nodes.client(0).publishBatch("trimmed", batch(3, 'b')).get(10, TimeUnit.SECONDS); // 5..7
            nodes.client(1).publish("trimmed", new byte[100]).get(10, TimeUnit.SECONDS); // 8
            // 6 lies inside the batch 5..7: it stays whole
            nodes.client(1).trimStream("trimmed", 6).get(10, TimeUnit.SECONDS);
            Held h = held(nodes, "trimmed");
            assertThat(h.firsts()).containsExactly(5L, 8L);
            assertThat(h.metaFirst()).isEqualTo(5);
            assertThat(h.metaBytes()).isEqualTo(h.sumOfB()).isEqualTo(4L * RECORD);
            assertNotRetained(nodes.client(1), "trimmed", 4, 5);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertNotRetained(nodes.client(0), "trimmed", 1, 5));
            assertThat(nodes.client(0).fetch("trimmed", 6, 10).get(10, TimeUnit.SECONDS).messages())
                    .extracting(Message::sequence).containsExactly(6L, 7L, 8L);
            // past the end: everything goes, and the next publish continues the sequence
            nodes.client(0).trimStream("trimmed", 100).get(10, TimeUnit.SECONDS);
            h = held(nodes, "trimmed");
            assertThat(h.firsts()).isEmpty();
            assertThat(h.metaBytes()).isZero();
            assertThat(h.metaFirst()).isEqualTo(9);
            assertThat(nodes.client(1).publish("trimmed", new byte[100]).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(9);
            assertThat(held(nodes, "trimmed").metaBytes()).isEqualTo(RECORD);
        }
    }
}
