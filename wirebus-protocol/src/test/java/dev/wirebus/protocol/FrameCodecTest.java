package dev.wirebus.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameCodecTest {

    private static RecordBatch bigBatch() {
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            byte[] p = new byte[100 + i];
            java.util.Arrays.fill(p, (byte) i);
            payloads.add(p);
        }
        RecordBatch batch = RecordBatch.of(payloads);
        assertThat(batch.sizeInBytes()).as("large enough for the zero-copy path").isGreaterThan(2048);
        return batch;
    }

    private static String appended(Frame frame) {
        ByteBuf out = Unpooled.buffer();
        try {
            FrameCodec.encode(frame, out);
            return ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }

    private static String allocated(Frame frame) {
        ByteBuf out = FrameCodec.encode(frame, ByteBufAllocator.DEFAULT);
        try {
            return ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }

    @Test
    void largeBatchesEncodeTheSameBytesFromTheirOwnMemory() {
        RecordBatch batch = bigBatch();
        Frame.Deliver deliver = new Frame.Deliver(0, 3, "blocks", 1000, batch);
        Frame.PublishBatch publish = new Frame.PublishBatch(12, "blocks", 0, batch);
        assertThat(allocated(deliver)).isEqualTo(appended(deliver));
        assertThat(allocated(publish)).isEqualTo(appended(publish));

        ByteBuf wire = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(allocated(publish)));
        assertThat(wire.readUnsignedInt()).isEqualTo(wire.readableBytes());
        Frame.PublishBatch back = (Frame.PublishBatch) FrameCodec.decode(wire);
        assertThat(back.records().count()).isEqualTo(50);
        assertThat(back.records().payload(49)).isEqualTo(batch.payload(49));
    }

    @Test
    void decodeConsumesTheWholeBody() {
        ByteBuf wire = Unpooled.buffer();
        FrameCodec.encode(new Frame.Request(5, "s", 10, new byte[] {1, 2, 3}), wire);
        wire.skipBytes(FrameCodec.LENGTH_FIELD_LENGTH);
        Frame.Request r = (Frame.Request) FrameCodec.decode(wire);
        assertThat(r.payload()).containsExactly(1, 2, 3);
        assertThat(wire.isReadable()).isFalse();
        wire.release();
    }

    @Test
    void decodeAloneRejectsABodyShorterThanTheHeader() {
        assertThatThrownBy(() -> FrameCodec.decode(Unpooled.wrappedBuffer(new byte[9])))
                .isInstanceOfSatisfying(ProtocolException.class,
                        e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.MALFORMED_FRAME));
    }

    @Test
    void stringsLongerThan65535Utf8BytesCannotBeEncoded() {
        String ok = "x".repeat(FrameCodec.MAX_STRING_BYTES);
        String wire = appended(new Frame.RespondOn(1, ok));
        assertThat(wire.substring(0, 12)).isEqualTo("0001000b" + "32" + "00"); // length 10 + 2 + 65535
        assertThat(wire.substring(28, 32)).isEqualTo("ffff"); // the string's byte length
        String tooLong = "é".repeat(FrameCodec.MAX_STRING_BYTES / 2 + 1); // 2 bytes each: 65536
        assertThatThrownBy(() -> appended(new Frame.RespondOn(1, tooLong)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void errorCodesMapUnknownNumbersToUnknown() {
        for (ErrorCode c : ErrorCode.values()) {
            assertThat(ErrorCode.of(c.code())).isSameAs(c);
        }
        assertThat(ErrorCode.of(7)).isSameAs(ErrorCode.UNKNOWN);
        assertThat(ErrorCode.of(63)).isSameAs(ErrorCode.UNKNOWN);
        assertThat(ErrorCode.of(64)).isSameAs(ErrorCode.UNKNOWN);
        assertThat(ErrorCode.of(65535)).isSameAs(ErrorCode.UNKNOWN);
        assertThat(ErrorCode.of(-1)).isSameAs(ErrorCode.UNKNOWN);
    }

    @Test
    void frameTypesMapUnknownBytesToNull() {
        for (FrameType t : FrameType.values()) {
            assertThat(FrameType.of(t.code())).isSameAs(t);
        }
        assertThat(FrameType.of(0x00)).isNull();
        assertThat(FrameType.of(0x7f)).isNull();
        assertThat(FrameType.of(0xff)).isNull();
        assertThat(FrameType.of(256)).isNull();
    }
}
