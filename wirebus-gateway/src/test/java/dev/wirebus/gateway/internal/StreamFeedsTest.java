package dev.wirebus.gateway.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.Message;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.ReconnectPolicy;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.Gateway;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The shared feed against a real broker over its Unix socket: every subscriber, whatever its start,
 * sees exactly its range once and in order, and hears when the feed's subscription ends.
 * Parameterized over the client's dispatch executor: the gateway's direct one, and a pool whose
 * threads race the feed's dispatch against the catch-up subscriptions'.
 */
@Timeout(60)
class StreamFeedsTest {
    private static final String STREAM = "feed.test";

    private EmbeddedBroker broker;
    private WirebusClient client;
    private WirebusClient producer;
    private StreamFeeds feeds;
    private ExecutorService pool;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        if (feeds != null) {
            feeds.close();
        }
        for (AutoCloseable c : new AutoCloseable[] {producer, client, broker}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // already closed by the test
                }
            }
        }
        if (pool != null) {
            pool.shutdownNow();
        }
        scheduler.shutdownNow();
    }

    private void start(String executor, int ringMessages, long ringBytes, ReconnectPolicy reconnect,
                       long retention) {
        broker = EmbeddedBroker.start(b -> b.retentionMessages(retention));
        WirebusClient.Builder cb = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway").reconnectPolicy(reconnect);
        if (executor.equals("direct")) {
            cb.dispatchExecutor(Gateway.clientDispatchExecutor());
        } else {
            pool = Executors.newFixedThreadPool(4);
            cb.dispatchExecutor(pool);
        }
        client = cb.connect();
        producer = broker.client(EmbeddedBroker.Transport.UNIX).name("producer").connect();
        feeds = new StreamFeeds(client, ringMessages, ringBytes, Duration.ofMillis(100));
        feeds.scheduler(scheduler);
    }

    private static byte[] payload(long seq) {
        return ("m" + seq).getBytes(StandardCharsets.UTF_8);
    }

    /** Publishes sequences {@code from..to} (the stream's next ones) in batches, awaiting each ack. */
    private void publish(long from, long to, AtomicLong acked) {
        for (long s = from; s <= to; s += 100) {
            List<byte[]> batch = new ArrayList<>();
            for (long i = s; i <= Math.min(to, s + 99); i++) {
                batch.add(payload(i));
            }
            producer.publishBatch(STREAM, batch, s).join();
            acked.set(Math.min(to, s + 99));
        }
    }

    /** A subscriber that checks each message is the next one, with its payload, and counts down at {@code until}. */
    static final class Recorder implements MessageHandler {
        final long until;
        final CountDownLatch done = new CountDownLatch(1);
        final CountDownLatch some;
        volatile long first = -1;
        volatile long last = -1;
        volatile long count;
        volatile String error;
        Subscription sub;

        Recorder(long until, int some) {
            this.until = until;
            this.some = new CountDownLatch(some);
        }

        @Override
        public void onMessage(Message m) {
            long seq = m.sequence();
            if (first < 0) {
                first = seq;
            } else if (seq != last + 1 && error == null) {
                error = "after " + last + " came " + seq;
            }
            if (!new String(m.payload(), StandardCharsets.UTF_8).equals("m" + seq) && error == null) {
                error = "payload of " + seq + " is " + m.payloadAsString();
            }
            last = seq;
            count++;
            some.countDown();
            if (seq == until) {
                done.countDown();
            }
        }

        /** Saw exactly [start, until], once each, in order, and started() said start. */
        void assertSawExactly(long start) throws InterruptedException {
            boolean reached = done.await(30, TimeUnit.SECONDS);
            assertThat(reached).as("%s started %s reached %d (first %d, last %d, count %d, error %s)", sub,
                    sub.started(), until, first, last, count, error).isTrue();
            assertThat(error).as("%s", sub).isNull();
            assertThat(first).as("first of %s", sub).isEqualTo(start);
            assertThat(sub.started().join()).isEqualTo(start);
            assertThat(count).as("count of %s", sub).isEqualTo(until - start + 1);
            await().atMost(Duration.ofSeconds(5)).until(() -> sub.lastDeliveredSequence() == until);
        }
    }

    private Recorder subscribe(StartPosition start, long until) {
        Recorder r = new Recorder(until, 200);
        r.sub = feeds.subscribe(STREAM, start, r);
        return r;
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct", "pool"})
    void mixedStartsWhileStreamingEachSeeTheirRangeOnceInOrder(String executor) throws Exception {
        start(executor, 500, 1 << 20, ReconnectPolicy.defaults(), 1_000_000);
        long history = 3000;
        long total = 30_000;
        AtomicLong acked = new AtomicLong();
        publish(1, history, acked);

        Recorder firstLive = subscribe(StartPosition.latest(), total);
        assertThat(firstLive.sub.started().get(10, TimeUnit.SECONDS)).isEqualTo(history + 1);

        Thread producing = new Thread(() -> publish(history + 1, total, acked), "test-producer");
        producing.start();

        List<long[]> expected = new ArrayList<>();     // {index, start} where start is known up front
        List<Recorder> all = new ArrayList<>();
        List<Recorder> leavers = new ArrayList<>();
        for (int k = 0; k < 60; k++) {
            long target = history + (k + 1) * 400L;
            await().atMost(Duration.ofSeconds(20)).until(() -> acked.get() >= Math.min(target, total));
            long now = acked.get();
            Recorder r;
            switch (k % 6) {
                case 0:
                    r = subscribe(StartPosition.earliest(), total);
                    expected.add(new long[] {all.size(), 1});
                    break;
                case 1: { // history older than the ring: a dedicated subscription first
                    long s = 10 + k * 37L;
                    r = subscribe(StartPosition.sequence(s), total);
                    expected.add(new long[] {all.size(), s});
                    break;
                }
                case 2: { // recent: inside the ring, or just before it if the feed is ahead
                    long s = Math.max(1, now - 100);
                    r = subscribe(StartPosition.sequence(s), total);
                    expected.add(new long[] {all.size(), s});
                    break;
                }
                case 3:
                    r = subscribe(StartPosition.latest(), total);
                    break;
                case 4: { // beyond the stream's end: waits for it
                    long s = Math.min(total, now + 2000);
                    r = subscribe(StartPosition.sequence(s), total);
                    expected.add(new long[] {all.size(), s});
                    break;
                }
                default: { // joins, takes some, leaves
                    Recorder l = subscribe(StartPosition.sequence(Math.max(1, now - 300)), total);
                    leavers.add(l);
                    r = null;
                    break;
                }
            }
            if (r != null) {
                all.add(r);
            }
            for (Recorder l : new ArrayList<>(leavers)) {
                if (l.some.getCount() == 0) {
                    l.sub.close();
                    assertThat(l.sub.closed()).isCompleted();
                    leavers.remove(l);
                    assertThat(l.error).isNull();
                }
            }
        }
        producing.join(60_000);
        assertThat(acked.get()).isEqualTo(total);

        firstLive.assertSawExactly(history + 1);
        for (long[] e : expected) {
            all.get((int) e[0]).assertSawExactly(e[1]);
        }
        for (Recorder r : all) { // "latest" ones: from where they started
            long started = r.sub.started().join();
            if (started > total) { // subscribed once everything was published: nothing to see
                assertThat(started).isEqualTo(total + 1);
                assertThat(r.count).isZero();
                continue;
            }
            r.assertSawExactly(started);
        }
        for (Recorder l : leavers) {
            l.sub.close();
            assertThat(l.error).isNull();
        }
        // everyone caught up switched to the feed: one broker subscription for the stream
        await().atMost(Duration.ofSeconds(10)).until(() -> feeds.catchingUp(STREAM) == 0);
        assertThat(feeds.subscribers(STREAM)).isEqualTo(all.size() + 1);
        long[] ring = feeds.ringUsage(STREAM);
        assertThat(ring[0]).isLessThanOrEqualTo(500);
        assertThat(ring[1]).isLessThanOrEqualTo(1 << 20);

        firstLive.sub.close();
        for (Recorder r : all) {
            r.sub.close();
            assertThat(r.sub.closed()).isCompletedWithValue(null);
        }
        assertThat(feeds.subscribers(STREAM)).isZero();
        await().atMost(Duration.ofSeconds(10)).until(() -> feeds.feeds() == 0); // lingered, then closed
        // and a later subscriber gets a new feed
        Recorder again = subscribe(StartPosition.sequence(total - 5), total);
        again.assertSawExactly(total - 5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct", "pool"})
    void whenTheClientGivesUpEverySubscriberHearsIt(String executor) throws Exception {
        start(executor, 100, 1 << 20, ReconnectPolicy.never(), 1_000_000);
        AtomicLong acked = new AtomicLong();
        publish(1, 1000, acked);
        Recorder live = subscribe(StartPosition.latest(), Long.MAX_VALUE);
        live.sub.started().get(10, TimeUnit.SECONDS);
        publish(1001, 1100, acked);
        Recorder inRing = subscribe(StartPosition.sequence(1050), 1100);
        Recorder history = subscribe(StartPosition.sequence(5), 1100);
        Recorder beyond = subscribe(StartPosition.sequence(5000), Long.MAX_VALUE);
        Recorder earliest = subscribe(StartPosition.earliest(), 1100);
        inRing.assertSawExactly(1050);
        history.assertSawExactly(5);
        earliest.assertSawExactly(1);
        assertThat(beyond.sub.started().join()).isEqualTo(5000);

        broker.close(); // the client cannot reconnect and gives up
        broker = null;
        for (Recorder r : List.of(live, inRing, history, beyond, earliest)) {
            assertThatThrownBy(() -> r.sub.closed().get(20, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(ConnectionException.class);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> feeds.feeds() == 0);
        // a subscriber arriving after: the same refusal as the client's own subscribe
        Recorder late = subscribe(StartPosition.latest(), 1);
        assertThatThrownBy(() -> late.sub.closed().get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(ConnectionException.class);
        assertThatThrownBy(() -> late.sub.started().join()).isInstanceOf(CompletionException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct", "pool"})
    void belowRetentionIsRefusedLikeAClientSubscription(String executor) throws Exception {
        start(executor, 50, 1 << 20, ReconnectPolicy.defaults(), 100);
        AtomicLong acked = new AtomicLong();
        publish(1, 1000, acked);
        Recorder live = subscribe(StartPosition.latest(), 1001);
        live.sub.started().get(10, TimeUnit.SECONDS);

        Subscription direct = client.subscribe(STREAM, StartPosition.sequence(3), m -> { });
        Recorder old = subscribe(StartPosition.sequence(3), 1000);
        Throwable expected = catchCause(direct);
        Throwable actual = catchCause(old.sub);
        assertThat(actual).isInstanceOf(ServerRefusedException.class).isExactlyInstanceOf(expected.getClass());
        assertThat(((ServerRefusedException) actual).errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
        assertThat(((ServerRefusedException) actual).errorCode()).isEqualTo(((ServerRefusedException) expected).errorCode());
        assertThatThrownBy(() -> old.sub.closed().get(10, TimeUnit.SECONDS)).hasCause(actual);
        assertThat(feeds.subscribers(STREAM)).isEqualTo(1); // the refused one left the feed

        // earliest resolves through the broker (the ring does not hold sequence 1)
        Recorder earliest = new Recorder(1001, 100);
        earliest.sub = feeds.subscribe(STREAM, StartPosition.earliest(), earliest);
        // retention drops whole batches: publish only once 901..1000 reached the subscriber
        assertThat(earliest.some.await(10, TimeUnit.SECONDS)).isTrue();
        publish(1001, 1001, acked);
        earliest.assertSawExactly(901);
        live.assertSawExactly(1001);
    }

    private static Throwable catchCause(Subscription s) {
        try {
            s.started().get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("started() of " + s + " did not fail");
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct"})
    void theRingStaysWithinItsBounds(String executor) throws Exception {
        start(executor, 64, 4096, ReconnectPolicy.defaults(), 1_000_000);
        AtomicLong acked = new AtomicLong();
        Recorder live = subscribe(StartPosition.latest(), 2000);
        live.sub.started().get(10, TimeUnit.SECONDS);
        publish(1, 2000, acked);
        live.assertSawExactly(1);
        long[] ring = feeds.ringUsage(STREAM);
        assertThat(ring[0]).isLessThanOrEqualTo(64);
        assertThat(ring[1]).isLessThanOrEqualTo(4096);
        assertThat(ring[1]).isGreaterThan(4096 - 200); // full up to the byte bound, which comes first here
        Recorder recent = subscribe(StartPosition.sequence(1990), 2000);
        recent.assertSawExactly(1990);
        Recorder older = subscribe(StartPosition.sequence(1000), 2000); // before the ring: via the broker
        older.assertSawExactly(1000);
        await().atMost(Duration.ofSeconds(10)).until(() -> feeds.catchingUp(STREAM) == 0); // switched to the feed
    }
}
