package dev.wirebus.systemtests;

import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
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

/** Streams on disk: what a restart keeps, and what subscribers see across it. */
class DiskStorageTest {
    @TempDir
    Path dir;

    private BrokerConfig.Builder disk(BrokerConfig.Durability durability) {
        return BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .dataDirectory(dir.resolve("data")).durability(durability).segmentBytes(64 * 1024);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @ParameterizedTest
    @EnumSource(BrokerConfig.Durability.class)
    void acknowledgedMessagesSurviveARestartInOrder(BrokerConfig.Durability durability) throws Exception {
        int total = 5000;
        try (Broker broker = Broker.start(disk(durability).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 1; i <= total; i++) {
                acks.add(c.publish("blocks", utf8("block-" + i)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
            }
            for (int i = 0; i < total; i++) {
                assertThat(acks.get(i).get(30, TimeUnit.SECONDS)).isEqualTo(i + 1L);
            }
        }
        try (Broker broker = Broker.start(disk(durability).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            assertThat(broker.lastSequence("blocks")).isEqualTo(total);
            List<Message> got = new CopyOnWriteArrayList<>();
            c.subscribe("blocks", StartPosition.earliest(), got::add);
            await().atMost(Duration.ofSeconds(30)).until(() -> got.size() == total);
            for (int i = 0; i < total; i++) {
                assertThat(got.get(i).sequence()).isEqualTo(i + 1L);
                assertThat(got.get(i).payloadAsString()).isEqualTo("block-" + (i + 1));
            }
            // appends continue after the recovered end
            assertThat(c.publish("blocks", utf8("next"), total + 1).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(total + 1L);
        }
    }

    @Test
    void aSubscriptionResumesWithoutGapAcrossABrokerRestart() throws Exception {
        Broker first = Broker.start(disk(BrokerConfig.Durability.BATCH).build());
        try (WirebusClient producer = WirebusClient.builder().address("unix://" + first.unixSocket()).name("p").connect();
             WirebusClient consumer = WirebusClient.builder().address("unix://" + first.unixSocket()).name("c").connect()) {
            BrokerContract.Collector got = new BrokerContract.Collector();
            Subscription sub = consumer.subscribe("chat", StartPosition.sequence(1), got::accept);
            for (int i = 1; i <= 100; i++) {
                producer.publish("chat", utf8("chunk-" + i)).get(10, TimeUnit.SECONDS);
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> got.last == 100);
            long storeId = first.storeId();
            first.close();
            try (Broker second = Broker.start(disk(BrokerConfig.Durability.BATCH).build())) {
                assertThat(second.storeId()).isEqualTo(storeId);
                for (int i = 101; i <= 200; i++) {
                    producer.publish("chat", utf8("chunk-" + i)).get(10, TimeUnit.SECONDS);
                }
                await().atMost(Duration.ofSeconds(20)).until(() -> got.last == 200);
                assertThat(got.violation.get()).isNull();
                assertThat(got.messages).hasSize(200);
                assertThat(got.messages.get(150).payloadAsString()).isEqualTo("chunk-151");
                assertThat(sub.closed()).isNotDone();
            }
        } finally {
            first.close();
        }
    }

    @Test
    void aSecondBrokerOnTheSameDataDirectoryRefuses() throws Exception {
        try (Broker broker = Broker.start(disk(BrokerConfig.Durability.BATCH).build())) {
            assertThatThrownBy(() -> Broker.start(disk(BrokerConfig.Durability.BATCH)
                    .unixSocket(dir.resolve("other.sock")).build()))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(dir.resolve("data").toString())
                    .hasMessageContaining("in use by another broker");
            assertThat(dir.resolve("other.sock")).doesNotExist();
        }
    }

    @Test
    void aClientThatHalfClosesStillGetsTheAcksThatWaitForTheFsync() throws Exception {
        try (Broker broker = Broker.start(disk(BrokerConfig.Durability.BATCH).syncInterval(Duration.ofMillis(50)).build())) {
            java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
            ch.connect(java.net.UnixDomainSocketAddress.of(broker.unixSocket()));
            io.netty.buffer.ByteBuf out = io.netty.buffer.Unpooled.buffer();
            dev.wirebus.protocol.FrameCodec.encode(new dev.wirebus.protocol.Frame.Hello(1, 1, 1, "half"), out);
            for (int i = 0; i < 3; i++) {
                dev.wirebus.protocol.FrameCodec.encode(new dev.wirebus.protocol.Frame.Publish(10 + i, "half", 0,
                        utf8("m" + i)), out);
            }
            ch.write(out.nioBuffer());
            out.release();
            ch.shutdownOutput();
            // read until the broker closes: WELCOME and the three acks must all be there
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(4096);
            CompletableFuture.runAsync(() -> {
                try {
                    while (ch.read(in) > 0) {
                        // until end of stream
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(10, TimeUnit.SECONDS);
            in.flip();
            List<dev.wirebus.protocol.Frame> frames = new ArrayList<>();
            while (in.remaining() >= 4) {
                int len = in.getInt();
                frames.add(dev.wirebus.protocol.FrameCodec.decode(io.netty.buffer.Unpooled.wrappedBuffer(
                        in.array(), in.position(), len)));
                in.position(in.position() + len);
            }
            ch.close();
            assertThat(frames).hasSize(4);
            assertThat(frames.subList(1, 4)).allSatisfy(f -> assertThat(f).isInstanceOf(dev.wirebus.protocol.Frame.PublishAck.class));
        }
    }

    @Test
    void aStreamsOwnSettingsOverrideTheBrokers() throws Exception {
        try (Broker broker = Broker.start(disk(BrokerConfig.Durability.ALWAYS)
                .stream("metrics", dev.wirebus.server.StreamSettings.none()
                        .withDurability(BrokerConfig.Durability.NEVER).withMaxMessageBytes(100))
                .build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            assertThat(broker.storageDescription()).contains("1 streams with their own settings");
            assertThatThrownBy(() -> c.publish("metrics", new byte[200]).get(5, TimeUnit.SECONDS))
                    .hasMessageContaining("200 bytes exceeds the maximum 100");
            assertThat(c.publish("metrics", new byte[100]).get(5, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
            assertThat(c.publish("blocks", new byte[200]).get(5, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
        }
        try (Broker broker = Broker.start(BrokerConfig.builder().unixSocket(dir.resolve("m.sock"))
                .stream("short", dev.wirebus.server.StreamSettings.none().withRetentionMessages(10)).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            for (int i = 0; i < 30; i++) {
                c.publish("short", utf8("s" + i)).get(5, TimeUnit.SECONDS);
                c.publish("long", utf8("l" + i)).get(5, TimeUnit.SECONDS);
            }
            assertThat(c.subscribe("short", StartPosition.earliest(), m -> { }).started().get(5, TimeUnit.SECONDS))
                    .isEqualTo(21L);
            assertThat(c.subscribe("long", StartPosition.earliest(), m -> { }).started().get(5, TimeUnit.SECONDS))
                    .isEqualTo(1L);
        }
    }

    @Test
    void streamNamesThatAreOnlyDotsAreRefused() throws Exception {
        try (Broker broker = Broker.start(disk(BrokerConfig.Durability.NEVER).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            assertThatThrownBy(() -> c.publish("..", new byte[1]).get(5, TimeUnit.SECONDS))
                    .hasMessageContaining("only dots");
            assertThat(c.publish("a.b", new byte[1]).get(5, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
        }
    }
}
