package dev.wirebus.systemtests;

import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.testing.EmbeddedBroker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Hostile and careless clients against a real broker over real sockets: each abuse ends with a
 * bound, an ERROR with its code, a count in the meters, and a well-behaved client served all along.
 */
@Timeout(60)
class BrokerLimitsTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final int HIGH_WATER = 64 * 1024;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private EmbeddedBroker start(Consumer<BrokerConfig.Builder> more) {
        return EmbeddedBroker.start(b -> {
            b.meterRegistry(registry).outputHighWater(HIGH_WATER);
            more.accept(b);
        });
    }

    private double closed(String reason) {
        Counter c = registry.find("wirebus.connections.closed").tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private double refused(String reason) {
        Counter c = registry.find("wirebus.connections.refused").tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A well-behaved client publishes and reads its messages back through a subscription. */
    private static void servedMeanwhile(EmbeddedBroker broker, EmbeddedBroker.Transport transport, String stream)
            throws Exception {
        try (WirebusClient good = broker.client(transport).name("good").connect()) {
            List<Message> got = new CopyOnWriteArrayList<>();
            good.subscribe(stream, StartPosition.sequence(1), got::add);
            for (int i = 1; i <= 50; i++) {
                assertThat(good.publish(stream, utf8("m" + i)).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(i);
            }
            await().atMost(WAIT).until(() -> got.size() == 50);
            assertThat(new String(got.get(49).payload(), StandardCharsets.UTF_8)).isEqualTo("m50");
        }
    }

    @Test
    void aClientThatSendsPingsAndNeverReadsIsPausedThenClosedWithSlowConsumer() throws Exception {
        try (EmbeddedBroker broker = start(b -> b.slowConsumerTimeout(Duration.ofSeconds(2)));
             Peer flood = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX)) {
            // 1M PINGs (14 MB): far more than the broker may buffer for one connection, never read
            Thread sender = flood.sendInBackground(i -> new Frame.Ping(i), 1_000_000);
            AtomicLong peak = new AtomicLong();
            await().atMost(WAIT).until(() -> {
                peak.accumulateAndGet(broker.broker().bufferedOutboundBytes(), Math::max);
                return closed("slow_consumer") == 1;
            });
            // paused at the mark: one PONG past it at most, not the 14 MB the client asked for
            assertThat(peak.get()).isLessThanOrEqualTo(HIGH_WATER + 1024);
            // what the client reads now ends with the broker's reason
            Frame last = flood.lastFrameBeforeEof();
            assertThat(last).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) last).code()).isEqualTo(ErrorCode.SLOW_CONSUMER.code());
            assertThat(((Frame.Error) last).requestId()).isZero();
            sender.join(WAIT.toMillis());
            servedMeanwhile(broker, EmbeddedBroker.Transport.UNIX, "after-ping-flood");
        }
    }

    @Test
    void unreadFetchAnswersStayWithinTheOutputBudgetWhileOthersAreServed() throws Exception {
        try (EmbeddedBroker broker = start(b -> b.slowConsumerTimeout(Duration.ofSeconds(2)));
             WirebusClient producer = broker.client(EmbeddedBroker.Transport.UNIX).name("producer").connect();
             Peer reader = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX)) {
            producer.publish("big", new byte[100_000]).get(10, TimeUnit.SECONDS);
            // 2000 FETCHes of a 100 kB message: 200 MB of answers, never read
            Thread sender = reader.sendInBackground(i -> new Frame.Fetch(i, "big", 1, 1), 2000);
            AtomicLong peak = new AtomicLong();
            await().atMost(WAIT).until(() -> {
                peak.accumulateAndGet(broker.broker().bufferedOutboundBytes(), Math::max);
                return reader.fetchesPaused(broker);
            });
            servedMeanwhile(broker, EmbeddedBroker.Transport.UNIX, "during-fetch-flood");
            await().atMost(WAIT).until(() -> {
                peak.accumulateAndGet(broker.broker().bufferedOutboundBytes(), Math::max);
                return closed("slow_consumer") == 1;
            });
            // the mark plus one answer, not 200 MB
            assertThat(peak.get()).isLessThanOrEqualTo(HIGH_WATER + 101_000 + 1024);
            Frame last = reader.lastFrameBeforeEof();
            assertThat(last).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) last).code()).isEqualTo(ErrorCode.SLOW_CONSUMER.code());
            sender.join(WAIT.toMillis());
        }
    }

    @Test
    void answersRoutedToARequesterThatNeverReadsHitTheHardCap() throws Exception {
        long cap = HIGH_WATER + 1024L * 1024 + (4L << 20) + 4096;
        try (EmbeddedBroker broker = start(b -> b.maxFrameLength(1024 * 1024).maxOutputBytes(cap)
                .slowConsumerTimeout(Duration.ofSeconds(20)));
             WirebusClient responder = broker.client(EmbeddedBroker.Transport.UNIX).name("responder").connect();
             Peer requester = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX)) {
            byte[] answer = new byte[200_000];
            responder.respond("big.answers", req -> answer).get(10, TimeUnit.SECONDS);
            // 500 requests read in one go, each answered with 200 kB: 100 MB for a client that reads nothing
            Thread sender = requester.sendInBackground(
                    i -> new Frame.Request(i, "big.answers", 10_000, new byte[0]), 500);
            AtomicLong peak = new AtomicLong();
            await().atMost(WAIT).until(() -> {
                peak.accumulateAndGet(broker.broker().bufferedOutboundBytes(), Math::max);
                return closed("output_cap") == 1;
            });
            assertThat(peak.get()).isLessThanOrEqualTo(cap + 1024);
            sender.join(WAIT.toMillis());
            assertThat(responder.request("big.answers", new byte[0], Duration.ofSeconds(10)).get(10, TimeUnit.SECONDS))
                    .hasSize(200_000);
            servedMeanwhile(broker, EmbeddedBroker.Transport.UNIX, "after-requests");
        }
    }

    @Test
    void aFrameThatNeverCompletesIsCutWithReadTimeout() throws Exception {
        try (EmbeddedBroker broker = start(b -> b.frameReadTimeout(Duration.ofMillis(500)));
             Peer stuck = Peer.handshaken(broker, EmbeddedBroker.Transport.TCP)) {
            // a header announcing 8 MiB, then 1000 bytes of it, then nothing
            stuck.sendBytes(partialFrame(8 * 1024 * 1024 - 16, 1000));
            servedMeanwhile(broker, EmbeddedBroker.Transport.TCP, "beside-a-stuck-frame");
            Frame f = stuck.lastFrameBeforeEof();
            assertThat(f).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) f).code()).isEqualTo(ErrorCode.READ_TIMEOUT.code());
            assertThat(((Frame.Error) f).message()).contains("frame incomplete");
            assertThat(closed("frame_timeout")).isEqualTo(1);
            await().atMost(WAIT).until(() -> registry.get("wirebus.frames.partial.bytes").gauge().value() == 0);
        }
    }

    @Test
    void largeFramesInProgressCountAgainstTheBrokerWideBudget() throws Exception {
        long budget = 1024 * 1024;
        try (EmbeddedBroker broker = start(b -> b.maxPartialFrameBytes(budget));
             Peer first = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX);
             Peer second = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX)) {
            first.sendBytes(partialFrame(700_000, 1000));
            await().atMost(WAIT).until(() -> registry.get("wirebus.frames.partial.bytes").gauge().value() >= 700_000);
            second.sendBytes(partialFrame(700_000, 1000));
            Frame f = second.lastFrameBeforeEof();
            assertThat(f).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) f).code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE.code());
            assertThat(((Frame.Error) f).message()).contains("budget");
            assertThat(closed("partial_frame_budget")).isEqualTo(1);
            assertThat(registry.get("wirebus.frames.partial.bytes").gauge().value()).isLessThanOrEqualTo(budget);
            // small frames are always taken: ordinary clients do not notice the exhausted budget
            servedMeanwhile(broker, EmbeddedBroker.Transport.UNIX, "beside-big-frames");
        }
    }

    @Test
    void connectionsBeyondThePerPeerCapAreRefusedAtAccept() throws Exception {
        for (EmbeddedBroker.Transport transport : EmbeddedBroker.Transport.values()) {
            SimpleMeterRegistry own = new SimpleMeterRegistry();
            try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.meterRegistry(own).maxConnectionsPerPeer(3));
                 WirebusClient good = broker.client(transport).name("good").connect();
                 Peer second = Peer.handshaken(broker, transport);
                 Peer third = Peer.handshaken(broker, transport);
                 Peer fourth = Peer.open(broker, transport)) {
                try {
                    fourth.send(new Frame.Hello(1, 1, 1, "one too many")); // read and dropped: the ERROR still arrives
                } catch (IOException e) {
                    // the broker closed first (a Unix socket refuses writes then): nothing to drop
                }
                Frame f = fourth.lastFrameBeforeEof();
                assertThat(f).as(transport.name()).isInstanceOf(Frame.Error.class);
                assertThat(((Frame.Error) f).code()).isEqualTo(ErrorCode.CONNECTION_LIMIT.code());
                assertThat(((Frame.Error) f).message()).contains(transport == EmbeddedBroker.Transport.UNIX
                        ? "uid" : "address 127.0.0.1");
                assertThat(own.get("wirebus.connections.refused").tag("reason", "max_connections_per_peer")
                        .counter().count()).isEqualTo(1);
                assertThat(good.publish("peer-cap", utf8("still served")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1);
                second.close();
                // a connection closed frees its place
                await().atMost(WAIT).until(() -> broker.broker().connectionCount() == 2);
                try (Peer again = Peer.handshaken(broker, transport)) {
                    again.send(new Frame.Ping(7));
                    assertThat(again.readFrame()).isInstanceOf(Frame.Pong.class);
                }
            }
        }
    }

    @Test
    void connectionsBeyondTheGlobalCapAreRefusedAtAccept() throws Exception {
        try (EmbeddedBroker broker = start(b -> b.maxConnections(2));
             WirebusClient good = broker.client(EmbeddedBroker.Transport.TCP).name("good").connect();
             Peer second = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX);
             Peer third = Peer.open(broker, EmbeddedBroker.Transport.UNIX)) {
            Frame f = third.lastFrameBeforeEof();
            assertThat(f).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) f).code()).isEqualTo(ErrorCode.CONNECTION_LIMIT.code());
            assertThat(((Frame.Error) f).message()).contains("maximum of 2 connections");
            assertThat(refused("max_connections")).isEqualTo(1);
            assertThat(good.publish("global-cap", utf8("still served")).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1);
        }
    }

    @Test
    void anIdleConnectionIsClosedButASubscriberIsNot() throws Exception {
        try (EmbeddedBroker broker = start(b -> b.idleTimeout(Duration.ofMillis(300)));
             Peer subscriber = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX);
             Peer idle = Peer.handshaken(broker, EmbeddedBroker.Transport.UNIX)) {
            subscriber.send(new Frame.Subscribe(2, 1, "quiet", Frame.StartKind.EARLIEST, 0, 100));
            assertThat(subscriber.readFrame()).isInstanceOf(Frame.Subscribed.class);
            Frame f = idle.lastFrameBeforeEof();
            assertThat(f).isInstanceOf(Frame.Error.class);
            assertThat(((Frame.Error) f).code()).isEqualTo(ErrorCode.READ_TIMEOUT.code());
            assertThat(((Frame.Error) f).message()).startsWith("idle");
            assertThat(closed("idle")).isEqualTo(1);
            // the subscriber was as quiet for as long, and is still served
            try (WirebusClient producer = broker.client(EmbeddedBroker.Transport.UNIX).name("producer").connect()) {
                producer.publish("quiet", utf8("hello")).get(10, TimeUnit.SECONDS);
            }
            Frame d = subscriber.readFrame();
            assertThat(d).isInstanceOf(Frame.Deliver.class);
            assertThat(closed("idle")).isEqualTo(1);
        }
    }

    /** A frame's length field announcing {@code length} bytes, and the first {@code sent} of them. */
    private static byte[] partialFrame(int length, int sent) {
        ByteBuffer b = ByteBuffer.allocate(4 + sent);
        b.putInt(length);
        b.put((byte) 0x10); // PUBLISH
        return b.array();
    }

    /**
     * A blocking protocol peer: one thread may write while another reads (a background sender and
     * the test reading what came back), which {@link RawConnection} does not allow.
     */
    private static final class Peer implements AutoCloseable {
        private final SocketChannel channel;
        private final ByteBuffer in = ByteBuffer.allocate(1 << 20);

        private Peer(SocketChannel channel) {
            this.channel = channel;
            in.flip();
        }

        static Peer open(EmbeddedBroker broker, EmbeddedBroker.Transport transport) throws IOException {
            return new Peer(RawConnection.socket(broker, transport));
        }

        static Peer handshaken(EmbeddedBroker broker, EmbeddedBroker.Transport transport) throws IOException {
            Peer p = open(broker, transport);
            p.send(new Frame.Hello(1, 1, 1, "peer"));
            Frame w = p.readFrame();
            if (!(w instanceof Frame.Welcome)) {
                throw new IOException("expected WELCOME, got " + w);
            }
            return p;
        }

        void send(Frame f) throws IOException {
            ByteBuf buf = FrameCodec.encode(f, UnpooledByteBufAllocator.DEFAULT);
            try {
                sendBytes(ByteBufUtil.getBytes(buf));
            } finally {
                buf.release();
            }
        }

        synchronized void sendBytes(byte[] bytes) throws IOException {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }

        /** Sends {@code count} frames from a thread of its own, in chunks; it ends when done or when the broker hangs up. */
        Thread sendInBackground(java.util.function.LongFunction<Frame> frame, int count) {
            Thread t = new Thread(() -> {
                try {
                    List<byte[]> chunk = new ArrayList<>();
                    int bytes = 0;
                    for (int i = 1; i <= count; i++) {
                        ByteBuf buf = FrameCodec.encode(frame.apply(i + 100), UnpooledByteBufAllocator.DEFAULT);
                        chunk.add(ByteBufUtil.getBytes(buf));
                        bytes += buf.readableBytes();
                        buf.release();
                        if (bytes >= 64 * 1024 || i == count) {
                            ByteBuffer all = ByteBuffer.allocate(bytes);
                            chunk.forEach(all::put);
                            sendBytes(all.array());
                            chunk.clear();
                            bytes = 0;
                        }
                    }
                } catch (IOException e) {
                    // the broker closed the connection: expected of an abuser
                }
            }, "abuser");
            t.setDaemon(true);
            t.start();
            return t;
        }

        /** True once the broker holds this connection's FETCHes: its reads paused, the client's answers queued. */
        boolean fetchesPaused(EmbeddedBroker broker) {
            return broker.broker().bufferedOutboundBytes() >= HIGH_WATER;
        }

        /** The next frame; blocks (the test's timeout bounds it); null at EOF. */
        Frame readFrame() throws IOException {
            while (true) {
                if (in.remaining() >= 4) {
                    int len = in.getInt(in.position());
                    if (in.remaining() >= 4 + len) {
                        byte[] body = new byte[len];
                        in.position(in.position() + 4);
                        in.get(body);
                        return FrameCodec.decode(Unpooled.wrappedBuffer(body));
                    }
                }
                in.compact();
                int n;
                try {
                    n = channel.read(in);
                } catch (IOException e) {
                    in.flip();
                    return null; // reset by the broker
                }
                in.flip();
                if (n < 0) {
                    return null;
                }
            }
        }

        /** Reads until the broker closes the connection; the last frame read (null if none). */
        Frame lastFrameBeforeEof() throws IOException {
            Frame last = null;
            Frame f;
            while ((f = readFrame()) != null) {
                last = f;
            }
            return last;
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
