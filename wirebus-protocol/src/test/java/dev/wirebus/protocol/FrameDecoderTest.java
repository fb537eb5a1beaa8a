package dev.wirebus.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
    private static final int MAX = FrameCodec.DEFAULT_MAX_FRAME_LENGTH;

    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannels() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private EmbeddedChannel channel(FrameDecoder decoder) {
        EmbeddedChannel ch = new EmbeddedChannel(decoder);
        channels.add(ch);
        return ch;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static List<Frame> readAll(EmbeddedChannel ch) {
        List<Frame> frames = new ArrayList<>();
        for (Frame f; (f = ch.readInbound()) != null; ) {
            frames.add(f);
        }
        return frames;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Records compare by identity; compare payloads of batch-carrying frames by hand. */
    private static void assertSameDeliver(Frame actual, Frame.Deliver expected) {
        assertThat(actual).isInstanceOf(Frame.Deliver.class);
        Frame.Deliver d = (Frame.Deliver) actual;
        assertThat(d.subscriptionId()).isEqualTo(expected.subscriptionId());
        assertThat(d.stream()).isEqualTo(expected.stream());
        assertThat(d.firstSequence()).isEqualTo(expected.firstSequence());
        assertThat(d.records().count()).isEqualTo(expected.records().count());
        for (int i = 0; i < d.records().count(); i++) {
            assertThat(d.records().payload(i)).isEqualTo(expected.records().payload(i));
        }
    }

    @Test
    void framesSplitAcrossManySmallReadsReassemble() {
        FrameDecoder decoder = new FrameDecoder(MAX);
        EmbeddedChannel ch = channel(decoder);
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            payloads.add(utf8("message number " + i + " ".repeat(i * 7)));
        }
        Frame.Deliver deliver = new Frame.Deliver(0, 9, "blocks", 100, RecordBatch.of(payloads));
        byte[] input = concat(bytes(new Frame.Ping(1)), bytes(deliver), bytes(new Frame.Ok(2)));
        assertThat(input.length).isGreaterThan(2048);

        List<Frame> frames = new ArrayList<>();
        int chunk = 1;
        for (int at = 0; at < input.length; at += chunk, chunk = chunk % 7 + 1) {
            int n = Math.min(chunk, input.length - at);
            ch.writeInbound(Unpooled.wrappedBuffer(input, at, n));
            frames.addAll(readAll(ch));
            if (at + n < input.length) {
                assertThat(decoder.pendingBytes()).isPositive();
            }
        }

        assertThat(frames).hasSize(3);
        assertThat(frames.get(0)).isEqualTo(new Frame.Ping(1));
        assertSameDeliver(frames.get(1), deliver);
        assertThat(frames.get(2)).isEqualTo(new Frame.Ok(2));
        assertThat(decoder.pendingBytes()).isZero();
    }

    @Test
    void severalFramesInOneReadAllComeOutInOrder() {
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        Frame.Publish p1 = new Frame.Publish(1, "s", 0, utf8("one"));
        Frame.Publish p2 = new Frame.Publish(2, "s", 0, utf8("two"));
        ch.writeInbound(Unpooled.wrappedBuffer(concat(bytes(p1), bytes(new Frame.Ping(3)), bytes(p2),
                bytes(new Frame.Credit(0, 4, 10)))));

        List<Frame> frames = readAll(ch);
        assertThat(frames).extracting(Frame::type)
                .containsExactly(FrameType.PUBLISH, FrameType.PING, FrameType.PUBLISH, FrameType.CREDIT);
        assertThat(((Frame.Publish) frames.get(0)).payload()).isEqualTo(utf8("one"));
        assertThat(((Frame.Publish) frames.get(2)).payload()).isEqualTo(utf8("two"));
        assertThat(frames.get(3)).isEqualTo(new Frame.Credit(0, 4, 10));
    }

    @Test
    void aLengthAboveTheMaximumFailsFromTheLengthFieldAlone() {
        EmbeddedChannel ch = channel(new FrameDecoder(1024));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x7f, (byte) 0xff, 0, 0})))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
                    assertThat(e.requestId()).isZero();
                    assertThat(e.getMessage()).contains("2147418112").contains("1024");
                });
    }

    @Test
    void aLengthBelowTheHeaderFailsFromTheLengthFieldAlone() {
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 9})))
                .isInstanceOfSatisfying(ProtocolException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MALFORMED_FRAME));
    }

    @Test
    void aFrameOfExactlyTheMaximumLengthIsAccepted() {
        int max = 64;
        byte[] payload = new byte[max - 10];
        byte[] frame = bytes(new Frame.Response(77, payload));
        assertThat(frame.length).isEqualTo(4 + max);
        EmbeddedChannel ch = channel(new FrameDecoder(max));
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        Frame.Response r = ch.readInbound();
        assertThat(r.requestId()).isEqualTo(77);
        assertThat(r.payload()).isEqualTo(payload);

        byte[] tooLong = bytes(new Frame.Response(78, new byte[max - 9]));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(tooLong)))
                .isInstanceOfSatisfying(ProtocolException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.FRAME_TOO_LARGE));
    }

    @Test
    void framesBeforeABadOneAreDeliveredThenItFails() {
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        byte[] unknownType = {0, 0, 0, 10, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 42};
        byte[] input = concat(bytes(new Frame.Ping(1)), bytes(new Frame.Pong(2)), unknownType,
                bytes(new Frame.Ping(3)));

        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(input)))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.UNKNOWN_FRAME_TYPE);
                    assertThat(e.requestId()).isEqualTo(42);
                });
        assertThat(readAll(ch)).containsExactly(new Frame.Ping(1), new Frame.Pong(2));
    }

    @Test
    void afterAFailureFurtherInputIsDiscarded() {
        FrameDecoder decoder = new FrameDecoder(MAX);
        EmbeddedChannel ch = channel(decoder);
        byte[] trailing = {0, 0, 0, 11, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0};
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(trailing)))
                .isInstanceOfSatisfying(ProtocolException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.MALFORMED_FRAME);
                    assertThat(e.requestId()).isEqualTo(5);
                });

        ByteBuf more = Unpooled.wrappedBuffer(concat(bytes(new Frame.Ping(6)), new byte[] {0, 0}));
        ch.writeInbound(more);
        assertThat(more.refCnt()).as("discarded input is released").isZero();
        assertThat(readAll(ch)).isEmpty();
        assertThat(decoder.pendingBytes()).isZero();

        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x7f, 0x7f, 0x7f, 0x7f}));
        assertThat(readAll(ch)).isEmpty();
    }

    @Test
    void pendingBytesReportsAPartialFrame() {
        FrameDecoder decoder = new FrameDecoder(MAX);
        EmbeddedChannel ch = channel(decoder);
        byte[] publish = bytes(new Frame.Publish(8, "blocks", 3, utf8("payload")));
        assertThat(decoder.pendingBytes()).isZero();

        ch.writeInbound(Unpooled.wrappedBuffer(publish, 0, 3));
        assertThat(decoder.pendingBytes()).isEqualTo(3);
        ch.writeInbound(Unpooled.wrappedBuffer(publish, 3, 12));
        assertThat(decoder.pendingBytes()).isEqualTo(15);
        assertThat(readAll(ch)).isEmpty();

        ch.writeInbound(Unpooled.wrappedBuffer(concat(
                java.util.Arrays.copyOfRange(publish, 15, publish.length), bytes(new Frame.Ping(9)),
                new byte[] {0, 0})));
        assertThat(readAll(ch)).extracting(Frame::type).containsExactly(FrameType.PUBLISH, FrameType.PING);
        assertThat(decoder.pendingBytes()).isEqualTo(2);
        assertThatThrownBy(ch::finish).isInstanceOf(ProtocolException.class); // input ends mid-frame
    }

    @Test
    void rejectsAMaximumBelowTheHeaderLength() {
        assertThatThrownBy(() -> new FrameDecoder(9)).isInstanceOf(IllegalArgumentException.class);
        new FrameDecoder(10);
    }

    private static byte[] bytes(Frame frame) {
        ByteBuf buf = FrameCodec.encode(frame, ByteBufAllocator.DEFAULT);
        try {
            byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            return b;
        } finally {
            buf.release();
        }
    }

    @Test
    void inputEndingInsideAFrameFailsWithMalformedFrame() {
        FrameDecoder decoder = new FrameDecoder(MAX);
        EmbeddedChannel ch = channel(decoder);
        byte[] ping = bytes(new Frame.Ping(5));
        ch.writeInbound(Unpooled.wrappedBuffer(concat(ping, java.util.Arrays.copyOf(ping, 7))));
        assertThat(readAll(ch)).containsExactly(new Frame.Ping(5));
        assertThat(decoder.pendingBytes()).isEqualTo(7);

        assertThatThrownBy(ch::finish).isInstanceOfSatisfying(ProtocolException.class, e -> {
            assertThat(e.errorCode()).isEqualTo(ErrorCode.MALFORMED_FRAME);
            assertThat(e.requestId()).isZero();
            assertThat(e.getMessage()).contains("7 bytes into a frame of length 10");
        });
    }

    @Test
    void inputEndingInsideALengthFieldFailsWithMalformedFrame() {
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0}));
        assertThatThrownBy(ch::finish).isInstanceOfSatisfying(ProtocolException.class, e -> {
            assertThat(e.errorCode()).isEqualTo(ErrorCode.MALFORMED_FRAME);
            assertThat(e.getMessage()).contains("2 bytes into a length prefix");
        });
    }

    @Test
    void inputEndingBetweenFramesIsNoError() {
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        ch.writeInbound(Unpooled.wrappedBuffer(bytes(new Frame.Ping(5))));
        assertThat(readAll(ch)).containsExactly(new Frame.Ping(5));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void inputEndingAfterAFailureReportsNothingMore() {
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 3})))
                .isInstanceOf(ProtocolException.class);
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 0, 0}));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void framesAfterWelcomeAreDecodedInTheVersionItNegotiates() {
        // the handler behind the decoder sets the version when WELCOME arrives, as the client does
        EmbeddedChannel ch = channel(new FrameDecoder(MAX));
        List<Frame> seen = new ArrayList<>();
        ch.pipeline().addLast(new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Frame.Welcome w) {
                    ctx.channel().attr(FrameCodec.VERSION).set(w.version());
                }
                seen.add((Frame) msg);
            }
        });
        Frame.Error error = new Frame.Error(7, ErrorCode.SEQUENCE_MISMATCH, "at 40",
                ErrorFields.of(ErrorFields.LAST_SEQUENCE, 40));
        // WELCOME and a version 2 ERROR in one read: the ERROR must not be decoded as version 1
        ch.writeInbound(Unpooled.wrappedBuffer(concat(bytes(new Frame.Welcome(1, 2, MAX, 9, "b")),
                bytes(error, 2))));
        assertThat(seen).containsExactly(new Frame.Welcome(1, 2, MAX, 9, "b"), error);
        assertThat(((Frame.Error) seen.get(1)).fields().lastSequence()).hasValue(40);
    }

    @Test
    void versionOneEncodingLeavesTheFieldsOut() {
        Frame.Error error = new Frame.Error(7, ErrorCode.BACKPRESSURE, "later",
                ErrorFields.of(ErrorFields.RETRY_AFTER_MILLIS, 100));
        byte[] v1 = bytes(error, 1);
        byte[] v2 = bytes(error, 2);
        assertThat(v2.length - v1.length).isEqualTo(1 + 9);
        Frame back = FrameCodec.decode(Unpooled.wrappedBuffer(v1).skipBytes(4), 1);
        assertThat(back).isEqualTo(new Frame.Error(7, ErrorCode.BACKPRESSURE, "later"));
    }

    private static byte[] bytes(Frame f, int version) {
        ByteBuf buf = FrameCodec.encode(f, ByteBufAllocator.DEFAULT, version);
        byte[] b = new byte[buf.readableBytes()];
        buf.readBytes(b);
        buf.release();
        return b;
    }
}
