package dev.wirebus.systemtests;

import dev.wirebus.client.FetchResult;
import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Issue 11, item 4: subscribing and fetching create no streams, the number of streams is capped
 * (STREAM_LIMIT), the open files stay within max-open-files whatever the number of streams, and a
 * broker restarts on its own data directory with more streams than either limit.
 */
class StreamLimitsTest {
    @TempDir
    Path dir;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private BrokerConfig.Builder disk() {
        return BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .dataDirectory(dir.resolve("data")).durability(BrokerConfig.Durability.ALWAYS)
                .meterRegistry(meters);
    }

    private static WirebusClient connect(Broker broker) {
        return WirebusClient.builder().address("unix://" + broker.unixSocket()).connect();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private double gauge(String name) {
        return meters.get(name).gauge().value();
    }

    private long count(Path p) throws IOException {
        if (!Files.exists(p)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(p)) {
            return files.count();
        }
    }

    private static long openFds() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    private static ErrorCode codeOf(CompletableFuture<?> f) {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WirebusException w) {
                return w.errorCode();
            }
            throw new AssertionError(e);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("succeeded");
    }

    @Test
    void subscribingAndFetchingMissingStreamsCreateNothingOnDisk() throws Exception {
        try (Broker broker = Broker.start(disk().build());
             WirebusClient lurker = connect(broker);
             WirebusClient producer = connect(broker)) {
            List<Subscription> subs = new ArrayList<>();
            List<Message> got = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 300; i++) {
                subs.add(lurker.subscribe("ghost-" + i, StartPosition.earliest(), got::add));
            }
            List<Message> consumed = new CopyOnWriteArrayList<>();
            for (int i = 0; i < 5; i++) {
                subs.add(lurker.subscribe("queue-" + i, SubscribeOptions.builder().consumer("worker")
                        .ackMode(SubscribeOptions.AckMode.ON_DELIVERY).build(), consumed::add));
            }
            for (Subscription s : subs) {
                s.started().get(10, TimeUnit.SECONDS);
            }
            for (int i = 0; i < 100; i++) {
                FetchResult page = lurker.fetch("absent-" + i, 1, 10).get(10, TimeUnit.SECONDS);
                assertThat(page.messages()).isEmpty();
                assertThat(page.lastSequence()).isZero();
            }

            // no stream directory, no consumer file: nothing a lurker does reaches the disk
            assertThat(count(dir.resolve("data/streams"))).isZero();
            assertThat(count(dir.resolve("data/consumers"))).isZero();
            assertThat(gauge("wirebus.streams")).isZero();
            assertThat(gauge("wirebus.streams.awaited")).isEqualTo(305);

            // subscribe-then-publish: the first publish creates the stream and the waiting cursor gets it
            assertThat(producer.publish("ghost-7", utf8("first")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
            assertThat(producer.publish("queue-3", utf8("job")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
            await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 1 && consumed.size() == 1);
            assertThat(got.get(0).payloadAsString()).isEqualTo("first");
            assertThat(consumed.get(0).payloadAsString()).isEqualTo("job");
            assertThat(count(dir.resolve("data/streams"))).isEqualTo(2);
            await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(dir.resolve("data/consumers/queue-3.pos")));
            assertThat(gauge("wirebus.streams")).isEqualTo(2);

            // the awaited streams go with their subscribers
            for (Subscription s : subs) {
                s.close();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> gauge("wirebus.streams.awaited") == 0);
            assertThat(count(dir.resolve("data/streams"))).isEqualTo(2);
        }
    }

    @Test
    void aPublishBeyondMaxStreamsGetsStreamLimitAndARestartServesEveryStream() throws Exception {
        try (Broker broker = Broker.start(disk().maxStreams(10).build());
             WirebusClient c = connect(broker)) {
            for (int i = 0; i < 10; i++) {
                assertThat(c.publish("s" + i, utf8("m" + i)).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
            }
            assertThat(codeOf(c.publish("s10", utf8("one too many")))).isEqualTo(ErrorCode.STREAM_LIMIT);
            // the streams that exist keep working, on the same connection
            assertThat(c.publish("s3", utf8("again")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(2L);
            assertThat(count(dir.resolve("data/streams"))).isEqualTo(10);
            assertThat(meters.get("wirebus.streams.refused").functionCounter().count()).isEqualTo(1);
        }
        // a lower limit than the store holds: the broker still starts and serves all ten
        try (Broker broker = Broker.start(disk().maxStreams(4).build());
             WirebusClient c = connect(broker)) {
            for (int i = 0; i < 10; i++) {
                FetchResult page = c.fetch("s" + i, 1, 10).get(10, TimeUnit.SECONDS);
                assertThat(page.messages()).extracting(Message::payloadAsString).startsWith("m" + i);
            }
            assertThat(c.publish("s9", utf8("more")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(2L);
            assertThat(codeOf(c.publish("new", utf8("x")))).isEqualTo(ErrorCode.STREAM_LIMIT);
        }
    }

    @Test
    void awaitedStreamsAreCappedToo() throws Exception {
        try (Broker broker = Broker.start(disk().maxStreams(3).build());
             WirebusClient c = connect(broker)) {
            for (int i = 0; i < 3; i++) {
                c.subscribe("wait-" + i, StartPosition.earliest(), m -> { }).started().get(10, TimeUnit.SECONDS);
            }
            Subscription fourth = c.subscribe("wait-3", StartPosition.earliest(), m -> { });
            assertThat(codeOf(fourth.started())).isEqualTo(ErrorCode.STREAM_LIMIT);
            // a second subscriber of an awaited stream is no new stream
            c.subscribe("wait-1", StartPosition.earliest(), m -> { }).started().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void openFilesStayWithinMaxOpenFilesWhateverTheNumberOfStreams() throws Exception {
        int streams = 150;
        int maxOpenFiles = 16;
        try (Broker broker = Broker.start(disk().maxOpenFiles(maxOpenFiles).durability(BrokerConfig.Durability.BATCH)
                .build());
             WirebusClient c = connect(broker)) {
            c.publish("warm-up", utf8("x")).get(10, TimeUnit.SECONDS);
            long before = openFds();
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                acks.add(c.publish("s" + i, utf8("m" + i)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
            }
            for (CompletableFuture<Long> ack : acks) {
                assertThat(ack.get(30, TimeUnit.SECONDS)).isEqualTo(1L);
            }
            acks.clear();
            for (int i = 0; i < streams; i++) {
                assertThat(c.fetch("s" + i, 1, 10).get(10, TimeUnit.SECONDS).messages())
                        .extracting(Message::payloadAsString).containsExactly("m" + i);
                acks.add(c.publish("s" + i, utf8("n" + i)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
            }
            for (CompletableFuture<Long> ack : acks) {
                assertThat(ack.get(30, TimeUnit.SECONDS)).isEqualTo(2L);
            }
            long grown = openFds() - before;
            // three files a stream (segment, index, visible mark): 450 descriptors without the budget
            assertThat(grown).as("descriptors opened by %d streams", streams).isLessThanOrEqualTo(maxOpenFiles + 8);
            assertThat(gauge("wirebus.storage.open.files")).isLessThanOrEqualTo(maxOpenFiles + 3);
            assertThat(meters.get("wirebus.storage.files.closed").functionCounter().count()).isPositive();
        }
        // and a restart opens (and recovers) all of them within the same budget
        try (Broker broker = Broker.start(disk().maxOpenFiles(maxOpenFiles).build());
             WirebusClient c = connect(broker)) {
            for (int i = 0; i < streams; i += 37) {
                assertThat(c.fetch("s" + i, 1, 10).get(10, TimeUnit.SECONDS).messages())
                        .extracting(Message::payloadAsString).containsExactly("m" + i, "n" + i);
            }
            assertThat(gauge("wirebus.storage.open.files")).isLessThanOrEqualTo(maxOpenFiles + 3);
        }
    }
}
