package dev.wirebus.systemtests;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.Message;
import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The failures seen in the field, proven impossible over one transport. Subclasses pick the
 * transport; every test runs over both Unix sockets and TCP.
 */
abstract class BrokerContract {
    private static final Duration LONG = Duration.ofSeconds(60);

    abstract EmbeddedBroker.Transport transport();

    private WirebusClient.Builder client(EmbeddedBroker broker, String name) {
        return broker.client(transport()).name(name);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Thread startThread(Runnable r) {
        Thread t = new Thread(r);
        t.start();
        return t;
    }

    /** Collects a subscription's messages (or only counts them) and checks order as they arrive. */
    static final class Collector {
        final List<Message> messages = new CopyOnWriteArrayList<>();
        final AtomicReference<String> violation = new AtomicReference<>();
        final AtomicLong count = new AtomicLong();
        final boolean keep;
        volatile long last;

        Collector() {
            this(true);
        }

        Collector(boolean keep) {
            this.keep = keep;
        }

        void accept(Message m) {
            if (last != 0 && m.sequence() != last + 1 && violation.get() == null) {
                violation.set("after " + last + " came " + m.sequence());
            }
            last = m.sequence();
            count.incrementAndGet();
            if (keep) {
                messages.add(m);
            }
        }
    }

    // 1 ------------------------------------------------------------------------------------------

    @Tag("slow")
    @Test
    void sixtyFourThreadsSharingOneClientPublishEveryPayloadExactlyOnceInOrder() throws Exception {
        int threads = 64;
        int perThread = 100_000 / threads + 1;
        int total = threads * perThread;
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             // every publish is made before any is awaited: the window must hold them all (a call
             // beyond maxInFlight fails at once with BackpressureException, it never waits)
             WirebusClient publisher = client(broker, "publisher").maxInFlight(total).connect();
             WirebusClient subscriber = client(broker, "subscriber").connect()) {
            Collector got = new Collector();
            subscriber.subscribe("shared", StartPosition.sequence(1), got::accept);
            List<Thread> ts = new ArrayList<>();
            ConcurrentHashMap<String, Long> acks = new ConcurrentHashMap<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                ts.add(startThread(() -> {
                    List<CompletableFuture<Long>> futures = new ArrayList<>(perThread);
                    for (int i = 0; i < perThread; i++) {
                        futures.add(publisher.publish("shared", utf8("t" + id + "-" + i)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
                    }
                    for (int i = 0; i < perThread; i++) {
                        try {
                            acks.put("t" + id + "-" + i, futures.get(i).get(30, TimeUnit.SECONDS));
                        } catch (Exception e) {
                            failure.compareAndSet(null, e);
                        }
                    }
                }));
            }
            for (Thread t : ts) {
                t.join(LONG.toMillis());
            }
            assertThat(failure.get()).isNull();
            assertThat(acks).hasSize(total);
            assertThat(new HashSet<>(acks.values())).hasSize(total);
            await().atMost(LONG).until(() -> got.messages.size() >= total);
            assertThat(got.violation.get()).isNull();
            assertThat(got.messages).hasSize(total);
            Set<String> payloads = new HashSet<>();
            long[] lastIndexPerThread = new long[threads];
            java.util.Arrays.fill(lastIndexPerThread, -1);
            for (int i = 0; i < total; i++) {
                Message m = got.messages.get(i);
                assertThat(m.sequence()).isEqualTo(i + 1);
                String p = m.payloadAsString();
                assertThat(acks.get(p)).as("ack of %s", p).isEqualTo(m.sequence());
                payloads.add(p);
                // one thread's pipelined publishes keep their order on the stream
                int t = Integer.parseInt(p.substring(1, p.indexOf('-')));
                long idx = Long.parseLong(p.substring(p.indexOf('-') + 1));
                assertThat(idx).isGreaterThan(lastIndexPerThread[t]);
                lastIndexPerThread[t] = idx;
            }
            assertThat(payloads).hasSize(total);
        }
    }

    // 2 ------------------------------------------------------------------------------------------

    @Test
    void firstCallsOnAFreshConnectionCompleteWithoutWaitingForAnother() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient responder = client(broker, "responder").connect()) {
            responder.respond("echo", r -> r.payload()).get(5, TimeUnit.SECONDS);
            for (int round = 0; round < 20; round++) {
                try (WirebusClient fresh = client(broker, "fresh-" + round).connect()) {
                    // each is the only call in flight: nothing else would push it out
                    assertThat(fresh.publish("first", utf8("x" + round)).get(2, TimeUnit.SECONDS).firstSequence()).isEqualTo(round + 1);
                    assertThat(fresh.request("echo", utf8("q" + round), Duration.ofSeconds(2)).get(2, TimeUnit.SECONDS))
                            .isEqualTo(utf8("q" + round));
                    assertThat(fresh.ping().get(2, TimeUnit.SECONDS)).isPositive();
                }
            }
        }
    }

    @Test
    void concurrentRequestsOnOneConnectionNeverGetEachOthersReplies() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient responder = client(broker, "responder").connect();
             WirebusClient requester = client(broker, "requester").connect()) {
            responder.respond("double", r -> utf8(Long.toString(2 * Long.parseLong(r.payloadAsString()))))
                    .get(5, TimeUnit.SECONDS);
            List<CompletableFuture<byte[]>> replies = new ArrayList<>();
            for (int i = 0; i < 2000; i++) {
                replies.add(requester.request("double", utf8(Integer.toString(i)), Duration.ofSeconds(20)));
            }
            for (int i = 0; i < replies.size(); i++) {
                assertThat(new String(replies.get(i).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8))
                        .isEqualTo(Integer.toString(2 * i));
            }
        }
    }

    // 3 ------------------------------------------------------------------------------------------

    @Tag("slow")
    @Test
    void subscribersJoiningMidStreamAndAfterForcedDisconnectsSeeEverySequence() throws Exception {
        // the subscription set-up window (start fixed, delivery later) is widened in SubscribeHandlerTest
        runLateJoinerScenario(20_000);
    }

    private void runLateJoinerScenario(int total) throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient producer = client(broker, "producer").connect()) {
            AtomicBoolean producing = new AtomicBoolean(true);
            AtomicReference<Throwable> producerFailure = new AtomicReference<>();
            // subscriber s joins once the producer passed s * step messages, and the producer does not
            // pass (s + 1) * step before it joined: every join lands mid-stream, with no sleeping
            int joiners = 20;
            int step = total / (joiners + 1);
            AtomicLong published = new AtomicLong();
            Semaphore joined = new Semaphore(0);
            Thread producerThread = startThread(() -> {
                try {
                    for (int i = 1; i <= total; i++) {
                        producer.publish("chunks", utf8("chunk-" + i)).get(10, TimeUnit.SECONDS);
                        published.set(i);
                        if (i % step == 0 && i / step <= joiners
                                && !joined.tryAcquire(LONG.toMillis(), TimeUnit.MILLISECONDS)) {
                            throw new AssertionError("subscriber " + (i / step - 1) + " did not join within " + LONG);
                        }
                    }
                } catch (Throwable t) {
                    producerFailure.set(t);
                } finally {
                    producing.set(false);
                }
            });
            List<WirebusClient> clients = new ArrayList<>();
            List<Collector> fromStart = new ArrayList<>();
            List<Collector> fromLatest = new ArrayList<>();
            List<Long> latestStarts = new CopyOnWriteArrayList<>();
            try {
                for (int s = 0; s < joiners && producing.get(); s++) {
                    long from = (long) s * step;
                    await().atMost(LONG).until(() -> published.get() >= from || !producing.get());
                    WirebusClient c = client(broker, "sub-" + s).connect();
                    clients.add(c);
                    Collector col = new Collector();
                    if (s % 4 == 3) {
                        // joins "live", like the chat client that read history and then subscribed
                        c.subscribe("chunks", StartPosition.latest(), col::accept).started()
                                .thenAccept(latestStarts::add);
                        fromLatest.add(col);
                    } else {
                        c.subscribe("chunks", StartPosition.sequence(1), col::accept);
                        fromStart.add(col);
                    }
                    if (s % 5 == 4) {
                        broker.broker().disconnect("sub-" + (s - 1));   // resumes by itself
                    }
                    joined.release();
                }
                // a subscriber that gives up its client and re-subscribes by hand from where it got to.
                // close() does not wait for a handler already running (it may finish afterwards), so
                // "where it got to" is fixed under a lock the first client's handler also holds: a
                // message it handles counts entirely before that moment or is ignored entirely after it
                Collector manual = new Collector();
                Object handing = new Object();
                AtomicBoolean gaveUp = new AtomicBoolean();
                WirebusClient first = client(broker, "manual-1").connect();
                first.subscribe("chunks", StartPosition.sequence(1), m -> {
                    synchronized (handing) {
                        if (!gaveUp.get()) {
                            manual.accept(m);
                        }
                    }
                });
                await().atMost(LONG).until(() -> manual.last > total / 10);
                broker.broker().disconnect("manual-1");
                long reached;
                synchronized (handing) {
                    gaveUp.set(true);
                    reached = manual.last;
                }
                first.close();
                WirebusClient second = client(broker, "manual-2").connect();
                clients.add(second);
                second.subscribe("chunks", StartPosition.sequence(reached + 1), manual::accept);

                producerThread.join(LONG.toMillis());
                assertThat(producerFailure.get()).isNull();
                for (Collector col : fromStart) {
                    await().atMost(LONG).until(() -> col.last == total);
                    assertThat(col.violation.get()).isNull();
                    assertThat(col.messages).hasSize(total);
                    for (int i = 0; i < total; i++) {
                        assertThat(col.messages.get(i).payloadAsString()).isEqualTo("chunk-" + (i + 1));
                    }
                }
                await().atMost(LONG).until(() -> manual.last == total);
                assertThat(manual.violation.get()).isNull();
                assertThat(manual.messages).hasSize(total);
                await().atMost(LONG).until(() -> latestStarts.size() == fromLatest.size());
                for (Collector col : fromLatest) {
                    await().atMost(LONG).until(() -> col.last == total || col.messages.isEmpty() && latestStarts.contains((long) total + 1));
                    assertThat(col.violation.get()).isNull();
                    if (!col.messages.isEmpty()) {
                        long start = col.messages.get(0).sequence();
                        assertThat(latestStarts).contains(start);
                        assertThat(col.messages).hasSize((int) (total - start + 1));
                    }
                }
            } finally {
                producing.set(false);
                clients.forEach(WirebusClient::close);
            }
        }
    }

    // 4 ------------------------------------------------------------------------------------------

    @Test
    void blocksPublishedWithExpectedSequenceArriveOnceInOrderAcrossForcedDisconnects() throws Exception {
        int blocks = 10_000;
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient producer = client(broker, "producer").connect();
             WirebusClient consumer = client(broker, "consumer").connect()) {
            Collector executed = new Collector();
            consumer.subscribe("blocks", StartPosition.sequence(1), executed::accept);
            AtomicLong retries = new AtomicLong();
            for (long index = 1; index <= blocks; index++) {
                if (index % 1000 == 0) {
                    broker.broker().disconnect(index % 2000 == 0 ? "consumer" : "producer");
                }
                while (true) {
                    try {
                        long seq = producer.publish("blocks", utf8("block-" + index), index).get(30, TimeUnit.SECONDS).firstSequence();
                        assertThat(seq).isEqualTo(index);
                        break;
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof SequenceMismatchException m && m.lastSequence() >= index) {
                            break; // appended before the connection dropped; the ack was lost
                        }
                        if (!(e.getCause() instanceof ConnectionException)) {
                            throw e;
                        }
                        retries.incrementAndGet();
                    }
                }
            }
            await().atMost(LONG).until(() -> executed.last == blocks);
            assertThat(executed.violation.get()).isNull();
            assertThat(executed.messages).hasSize(blocks);
            for (int i = 0; i < blocks; i++) {
                assertThat(executed.messages.get(i).payloadAsString()).isEqualTo("block-" + (i + 1));
            }
            assertThat(broker.broker().lastSequence("blocks")).isEqualTo(blocks);
        }
    }

    // 5 ------------------------------------------------------------------------------------------

    @Test
    void aStalledSubscriberNeitherBlocksAHealthyOneNorGrowsBrokerMemory() throws Exception {
        int total = 1_000_000;
        int batch = 1000;
        byte[] payload = new byte[200];
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.retentionMessages(100_000));
             WirebusClient producer = client(broker, "producer").connect();
             WirebusClient healthy = client(broker, "healthy").connect();
             WirebusClient stuckClient = client(broker, "stuck").connect();
             RawConnection neverReads = RawConnection.handshaken(broker, transport())) {
            // one subscriber whose handler never returns, one socket that never reads
            CountDownLatch release = new CountDownLatch(1);
            stuckClient.subscribe("firehose", StartPosition.sequence(1), m -> release.await(2, TimeUnit.MINUTES));
            neverReads.send(new Frame.Subscribe(2, 1, "firehose", Frame.StartKind.SEQUENCE, 1, Integer.MAX_VALUE));
            Collector order = new Collector(false);
            AtomicLong received = order.count;
            Subscription healthySub = healthy.subscribe("firehose", StartPosition.sequence(1), order::accept);
            healthySub.started().get(5, TimeUnit.SECONDS);
            long maxBuffered = 0;
            List<byte[]> payloads = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                payloads.add(payload);
            }
            List<CompletableFuture<?>> acks = new ArrayList<>();
            for (int sent = 0; sent < total; sent += batch) {
                // stay within retention of the healthy subscriber, which must get everything
                int published = sent;
                await().pollInterval(Duration.ofMillis(1)).atMost(LONG)
                        .until(() -> published - received.get() < 50_000);
                acks.add(producer.publishBatch("firehose", payloads));
                if (acks.size() == 16) {
                    acks.remove(0).get(30, TimeUnit.SECONDS);
                }
                maxBuffered = Math.max(maxBuffered, broker.broker().bufferedOutboundBytes());
            }
            for (CompletableFuture<?> a : acks) {
                a.get(30, TimeUnit.SECONDS);
            }
            await().atMost(LONG).until(() -> received.get() == total);
            assertThat(order.violation.get()).isNull();
            // the never-reading socket costs at most its write buffer (high-water mark 1 MiB + one frame)
            assertThat(maxBuffered).isLessThan(4L * 1024 * 1024);
            // retention keeps 100k x 204 B, about 20 MB: had anything kept all 1M (200 MB), the heap would show it
            System.gc();
            long used = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
            assertThat(used).isLessThan(160L * 1024 * 1024);
            release.countDown();
        }
    }

    // 6 ------------------------------------------------------------------------------------------

    private void assertRejected(EmbeddedBroker broker, boolean handshake, byte[] bytes, boolean thenHalfClose,
                                ErrorCode expected) throws Exception {
        try (RawConnection raw = handshake ? RawConnection.handshaken(broker, transport())
                : RawConnection.open(broker, transport())) {
            raw.sendBytes(bytes);
            if (thenHalfClose) {
                raw.shutdownOutput();
            }
            Frame f = raw.read(Duration.ofSeconds(5));
            assertThat(f).isInstanceOf(Frame.Error.class);
            Frame.Error e = (Frame.Error) f;
            assertThat(ErrorCode.of(e.code())).as(e.message()).isEqualTo(expected);
            assertThat(e.message()).isNotBlank();
            assertThat(raw.closedByPeer(Duration.ofSeconds(5))).isTrue();
        }
    }

    private static byte[] hex(String h) {
        return java.util.HexFormat.of().parseHex(h.replace(" ", ""));
    }

    @Test
    void malformedInputGetsATypedErrorAndClosesOnlyThatConnection() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.maxFrameLength(64 * 1024));
             WirebusClient bystander = client(broker, "bystander").connect()) {
            Collector seen = new Collector();
            bystander.subscribe("calm", StartPosition.sequence(1), seen::accept);
            bystander.publish("calm", utf8("before")).get(5, TimeUnit.SECONDS);

            // length prefix far above the maximum
            assertRejected(broker, true, hex("7fffffff 10 00 0000000000000001"), false, ErrorCode.FRAME_TOO_LARGE);
            // length below the 10-byte header
            assertRejected(broker, true, hex("00000003 10 00 00"), false, ErrorCode.MALFORMED_FRAME);
            // unknown frame type
            assertRejected(broker, true, hex("0000000a 7f 00 0000000000000009"), false, ErrorCode.UNKNOWN_FRAME_TYPE);
            // PUBLISH whose stream name claims 200 bytes but the frame ends after 3
            assertRejected(broker, true, hex("0000000f 10 00 0000000000000005 00c8 616263"), false,
                    ErrorCode.MALFORMED_FRAME);
            // PUBLISH_BATCH whose record claims more bytes than the frame holds
            assertRejected(broker, true, hex("0000001f 11 00 0000000000000006 0001 73 0000000000000000 00000001 000000ff 6162"),
                    false, ErrorCode.MALFORMED_FRAME);
            // an HTTP request sent to the binary port
            assertRejected(broker, false, utf8("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false, ErrorCode.FRAME_TOO_LARGE);
            // a valid frame before HELLO
            assertRejected(broker, false, hex("0000000a 03 00 0000000000000001"), false, ErrorCode.HANDSHAKE_REQUIRED);
            // HELLO with the wrong magic
            assertRejected(broker, false, hex("00000016 01 00 0000000000000001 deadbeef 0001 0001 0002 6869"), false,
                    ErrorCode.MALFORMED_FRAME);
            // the connection ends in the middle of a frame
            assertRejected(broker, true, hex("00000040 10 00 00000000"), true, ErrorCode.MALFORMED_FRAME);

            bystander.publish("calm", utf8("after")).get(5, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> seen.messages.size() == 2);
            assertThat(seen.messages).extracting(Message::payloadAsString).containsExactly("before", "after");
            assertThat(bystander.ping().get(5, TimeUnit.SECONDS)).isPositive();
        }
    }

    @Test
    void refusedRequestsKeepTheConnectionOpenAndNameTheProblem() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.maxMessageBytes(1024));
             WirebusClient c = client(broker, "c").connect()) {
            assertThatThrownBy(() -> c.publish("s", new byte[2048]).get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .hasMessageContaining("2048").hasMessageContaining("1024")
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.MESSAGE_TOO_LARGE);
            assertThatThrownBy(() -> c.publish("bad name!", new byte[1]).get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class).hasMessageContaining("bad name!");
            c.publish("s", utf8("one")).get(5, TimeUnit.SECONDS);
            assertThatThrownBy(() -> c.publish("s", utf8("x"), 5).get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(SequenceMismatchException.class)
                    .hasMessageContaining("last sequence 1")
                    .extracting(e -> ((SequenceMismatchException) e).lastSequence()).isEqualTo(1L);
            assertThat(c.publish("s", utf8("two"), 2).get(5, TimeUnit.SECONDS).firstSequence()).isEqualTo(2L);
        }
    }

    @Test
    void subscribingBelowTheRetainedRangeFailsNamingTheFirstRetainedSequence() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.retentionMessages(10));
             WirebusClient c = client(broker, "c").connect()) {
            for (int i = 0; i < 30; i++) {
                c.publish("short", utf8("m" + i)).get(5, TimeUnit.SECONDS);
            }
            Subscription sub = c.subscribe("short", StartPosition.sequence(3), m -> { });
            assertThatThrownBy(() -> sub.started().get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .hasMessageContaining("retains sequences from 21")
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
            Collector earliest = new Collector();
            assertThat(c.subscribe("short", StartPosition.earliest(), earliest::accept).started().get(5, TimeUnit.SECONDS))
                    .isEqualTo(21L);
            await().atMost(Duration.ofSeconds(10)).until(() -> earliest.last == 30);
            assertThat(earliest.messages).hasSize(10);
        }
    }

    @Test
    void fetchReadsAPageOfHistoryEndsEmptyAtTheEndAndFailsBelowTheRetainedRange() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.retentionMessages(100));
             WirebusClient c = client(broker, "c").connect()) {
            assertThat(c.fetch("pages", 1, 10).get(5, TimeUnit.SECONDS))
                    .isEqualTo(new dev.wirebus.client.FetchResult("pages", 1, List.of(), 0));
            for (int i = 1; i <= 150; i++) {
                c.publish("pages", utf8("m" + i)).get(5, TimeUnit.SECONDS);
            }
            dev.wirebus.client.FetchResult page = c.fetch("pages", 60, 25).get(5, TimeUnit.SECONDS);
            assertThat(page.messages()).extracting(Message::sequence).containsExactlyElementsOf(
                    java.util.stream.LongStream.rangeClosed(60, 84).boxed().toList());
            assertThat(page.messages()).extracting(Message::payloadAsString).startsWith("m60").endsWith("m84");
            assertThat(page.lastSequence()).isEqualTo(150);
            assertThat(page.nextSequence()).isEqualTo(85);
            dev.wirebus.client.FetchResult tail = c.fetch("pages", 140, 1000).get(5, TimeUnit.SECONDS);
            assertThat(tail.messages()).hasSize(11);
            assertThat(tail.atEnd()).isTrue();
            assertThat(c.fetch("pages", 151, 10).get(5, TimeUnit.SECONDS).messages()).isEmpty();
            assertThatThrownBy(() -> c.fetch("pages", 3, 10).get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .hasMessageContaining("retains sequences from 51")
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED);
        }
    }

    // 7 ------------------------------------------------------------------------------------------

    @Test
    void requestWithoutResponderFailsAtOnceWithNoResponders() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient c = client(broker, "c").connect()) {
            CompletableFuture<byte[]> f = c.request("state.committee", new byte[0], Duration.ofSeconds(30));
            // far below the 30 s deadline: the broker says so immediately
            assertThatThrownBy(() -> f.get(2, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .hasMessageContaining("state.committee")
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.NO_RESPONDERS);
        }
    }

    @Test
    void aSilentResponderMakesTheRequestTimeOut() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient responder = client(broker, "slow").connect();
             WirebusClient c = client(broker, "c").connect()) {
            CountDownLatch never = new CountDownLatch(1);
            responder.respond("state.epoch", r -> {
                never.await(30, TimeUnit.SECONDS);
                return new byte[0];
            }).get(5, TimeUnit.SECONDS);
            // "not before the deadline" is proven on an injected clock: RequestHandlersTest
            CompletableFuture<byte[]> f = c.request("state.epoch", new byte[0], Duration.ofMillis(500));
            assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).cause().isInstanceOf(WirebusTimeoutException.class)
                    .hasMessageContaining("state.epoch");
            assertThat(never.getCount()).as("the responder never answered").isEqualTo(1);
            never.countDown();
        }
    }

    @Test
    void thousandConcurrentRequestsEachGetTheirOwnReplySpreadOverResponders() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient r1 = client(broker, "r1").connect();
             WirebusClient r2 = client(broker, "r2").connect();
             WirebusClient r3 = client(broker, "r3").connect();
             WirebusClient c = client(broker, "c").connect()) {
            ConcurrentHashMap<String, AtomicLong> handledBy = new ConcurrentHashMap<>();
            for (var e : List.of(java.util.Map.entry("r1", r1), java.util.Map.entry("r2", r2), java.util.Map.entry("r3", r3))) {
                e.getValue().respond("validators", r -> {
                    handledBy.computeIfAbsent(e.getKey(), k -> new AtomicLong()).incrementAndGet();
                    return utf8("re:" + r.payloadAsString());
                }).get(5, TimeUnit.SECONDS);
            }
            List<CompletableFuture<byte[]>> fs = new ArrayList<>();
            List<Thread> ts = new ArrayList<>();
            List<CompletableFuture<byte[]>> shared = new CopyOnWriteArrayList<>(new ArrayList<>(java.util.Collections.nCopies(1000, null)));
            for (int t = 0; t < 10; t++) {
                int base = t * 100;
                ts.add(startThread(() -> {
                    for (int i = base; i < base + 100; i++) {
                        shared.set(i, c.request("validators", utf8("q" + i), Duration.ofSeconds(20)));
                    }
                }));
            }
            for (Thread t : ts) {
                t.join(LONG.toMillis());
            }
            fs.addAll(shared);
            for (int i = 0; i < 1000; i++) {
                assertThat(new String(fs.get(i).get(30, TimeUnit.SECONDS), StandardCharsets.UTF_8)).isEqualTo("re:q" + i);
            }
            assertThat(handledBy.keySet()).containsExactlyInAnyOrder("r1", "r2", "r3");
            assertThat(handledBy.values().stream().mapToLong(AtomicLong::get).sum()).isEqualTo(1000);
        }
    }

    @Test
    void oneResponderHandlesConcurrentRequestsInParallel() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient responder = client(broker, "responder").connect();
             WirebusClient c = client(broker, "c").connect()) {
            int parallel = 8;
            CountDownLatch allInside = new CountDownLatch(parallel);
            responder.respond("state.committee", r -> {
                allInside.countDown();
                // returns only once all eight are being handled at the same time
                return utf8(Boolean.toString(allInside.await(10, TimeUnit.SECONDS)));
            }).get(5, TimeUnit.SECONDS);
            List<CompletableFuture<byte[]>> fs = new ArrayList<>();
            for (int i = 0; i < parallel; i++) {
                fs.add(c.request("state.committee", new byte[0], Duration.ofSeconds(20)));
            }
            for (CompletableFuture<byte[]> f : fs) {
                assertThat(new String(f.get(20, TimeUnit.SECONDS), StandardCharsets.UTF_8)).isEqualTo("true");
            }
        }
    }

    @Test
    void aResponderThatStopsReadingGetsNoMoreRequestsPiledOnIt() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             RawConnection deaf = RawConnection.handshaken(broker, transport());
             WirebusClient c = client(broker, "c").maxInFlight(1000).connect()) {
            deaf.send(new Frame.RespondOn(2, "state.deaf"));
            assertThat(deaf.read(Duration.ofSeconds(5))).isInstanceOf(Frame.Ok.class);
            byte[] big = new byte[64 * 1024];
            List<CompletableFuture<byte[]>> sent = new ArrayList<>();
            CompletableFuture<byte[]> refused = null;
            for (int i = 0; i < 1000 && refused == null; i++) {
                CompletableFuture<byte[]> f = c.request("state.deaf", big, Duration.ofSeconds(30));
                sent.add(f);
                try {
                    f.get(50, TimeUnit.MILLISECONDS);
                } catch (ExecutionException e) {
                    refused = f;
                } catch (java.util.concurrent.TimeoutException stillWaiting) {
                    // forwarded to the deaf responder; keep going until the broker refuses
                }
            }
            assertThat(refused).as("the broker refuses once the responder's connection is full").isNotNull();
            CompletableFuture<byte[]> r = refused;
            assertThatThrownBy(r::get).cause().isInstanceOf(ServerRefusedException.class)
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.BACKPRESSURE);
            // what waits for the deaf responder is bounded by its write buffer, not by the requests sent
            assertThat(broker.broker().bufferedOutboundBytes()).isLessThan(4L * 1024 * 1024);
        }
    }

    @Test
    void responderKilledMidRequestFailsTheRequestAtOnce() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient c = client(broker, "c").connect()) {
            WirebusClient responder = client(broker, "doomed")
                    .reconnectPolicy(dev.wirebus.client.ReconnectPolicy.never()).connect();
            CountDownLatch inHandler = new CountDownLatch(1);
            CountDownLatch never = new CountDownLatch(1);
            responder.respond("state.validators", r -> {
                inHandler.countDown();
                never.await(30, TimeUnit.SECONDS);
                return new byte[0];
            }).get(5, TimeUnit.SECONDS);
            CompletableFuture<byte[]> f = c.request("state.validators", new byte[0], Duration.ofSeconds(30));
            assertThat(inHandler.await(5, TimeUnit.SECONDS)).isTrue();
            broker.broker().disconnect("doomed");
            assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.RESPONDER_GONE);
            never.countDown();
            responder.close();
        }
    }
}
