package dev.wirebus.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class RecordBatchTest {
    private static final HexFormat HEX = HexFormat.of();

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String wire(RecordBatch batch, int from, int to) {
        ByteBuf out = Unpooled.buffer();
        try {
            batch.writeTo(out, from, to);
            return ByteBufUtil.hexDump(out);
        } finally {
            out.release();
        }
    }

    private static RecordBatch read(String hex, long count) {
        ByteBuf in = Unpooled.wrappedBuffer(HEX.parseHex(hex));
        try {
            RecordBatch batch = RecordBatch.read(in, count, 7);
            assertThat(in.isReadable()).as("read consumes all bytes").isFalse();
            return batch;
        } finally {
            in.release();
        }
    }

    @Test
    void ofListLaysRecordsOutAsLengthThenBytes() {
        RecordBatch batch = RecordBatch.of(List.of(utf8("a"), utf8("bc"), new byte[0]));
        assertThat(batch.count()).isEqualTo(3);
        assertThat(batch.sizeInBytes()).isEqualTo(4 + 1 + 4 + 2 + 4);
        assertThat(wire(batch, 0, 3)).isEqualTo("00000001" + "61" + "00000002" + "6263" + "00000000");
        assertThat(batch.payload(0)).isEqualTo(utf8("a"));
        assertThat(batch.payload(1)).isEqualTo(utf8("bc"));
        assertThat(batch.payload(2)).isEmpty();
        assertThat(batch.payloadLength(1)).isEqualTo(2);
        assertThat(batch.payloadLength(2)).isZero();
        assertThat(batch.maxPayloadLength()).isEqualTo(2);
        assertThat(batch.sizeInBytes(1, 3)).isEqualTo(4 + 2 + 4);
    }

    @Test
    void ofSinglePayloadIsABatchOfOne() {
        RecordBatch batch = RecordBatch.of(utf8("hello"));
        assertThat(batch.count()).isEqualTo(1);
        assertThat(batch.sizeInBytes()).isEqualTo(9);
        assertThat(wire(batch, 0, 1)).isEqualTo("00000005" + "68656c6c6f");
        assertThat(batch.payload(0)).isEqualTo(utf8("hello"));
    }

    @Test
    void ofCopiesThePayloads() {
        byte[] p = utf8("abc");
        RecordBatch batch = RecordBatch.of(List.of(p));
        p[0] = 'z';
        assertThat(batch.payload(0)).isEqualTo(utf8("abc"));
        batch.payload(0)[1] = 'z';
        assertThat(batch.payload(0)).isEqualTo(utf8("abc"));
    }

    @Test
    void emptyBatch() {
        assertThat(RecordBatch.empty().count()).isZero();
        assertThat(RecordBatch.empty().sizeInBytes()).isZero();
        assertThat(RecordBatch.empty().maxPayloadLength()).isZero();
        assertThat(RecordBatch.of(List.of()).count()).isZero();
        assertThat(read("", 0).count()).isZero();
    }

    @Test
    void readRoundTripsWhatWriteToWrote() {
        RecordBatch batch = RecordBatch.of(List.of(utf8("first"), new byte[0], new byte[300], utf8("last")));
        RecordBatch back = read(wire(batch, 0, batch.count()), batch.count());
        assertThat(back.count()).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            assertThat(back.payload(i)).isEqualTo(batch.payload(i));
        }
        assertThat(back.sizeInBytes()).isEqualTo(batch.sizeInBytes());
        assertThat(wire(back, 0, 4)).isEqualTo(wire(batch, 0, 4));
    }

    @Test
    void sliceViewsARangeWithItsOwnOffsets() {
        RecordBatch batch = RecordBatch.of(List.of(utf8("a"), utf8("bc"), utf8("def"), utf8("ghij")));
        RecordBatch middle = batch.slice(1, 3);
        assertThat(middle.count()).isEqualTo(2);
        assertThat(middle.payload(0)).isEqualTo(utf8("bc"));
        assertThat(middle.payload(1)).isEqualTo(utf8("def"));
        assertThat(middle.sizeInBytes()).isEqualTo(batch.sizeInBytes(1, 3));
        assertThat(wire(middle, 0, 2)).isEqualTo(wire(batch, 1, 3));
        assertThat(read(wire(middle, 0, 2), 2).payload(1)).isEqualTo(utf8("def"));

        RecordBatch tail = middle.slice(1, 2);
        assertThat(tail.count()).isEqualTo(1);
        assertThat(tail.payload(0)).isEqualTo(utf8("def"));

        assertThat(batch.slice(0, 4)).isSameAs(batch);
        assertThat(batch.slice(2, 2).count()).isZero();
        assertThat(batch.slice(2, 2).sizeInBytes()).isZero();
    }

    @Test
    void readRejectsACountThatCannotFit() {
        assertMalformed("0000000161", 2, "record count 2");
        assertMalformed("", 1, "record count 1");
        assertMalformed("0000000161", -1, "record count -1");
        assertMalformed("0000000161", 0xffffffffL, "record count 4294967295");
    }

    @Test
    void readRejectsALengthPastTheEnd() {
        assertMalformed("00000001" + "61" + "00000005" + "6263", 2, "record 1 of 2 declares 5 bytes");
    }

    @Test
    void readRejectsALengthAboveTwoToThe31() {
        assertMalformed("80000000" + "61626364", 1, "declares 2147483648 bytes");
        assertMalformed("ffffffff" + "61626364", 1, "declares 4294967295 bytes");
    }

    @Test
    void readRejectsAMissingLengthPrefix() {
        // 12 bytes can hold 3 prefixes, but the first record uses 6 of them
        assertMalformed("00000002" + "6162" + "00000000" + "0000", 3, "record 2 of 3 has no length prefix");
    }

    @Test
    void readRejectsBytesAfterTheLastRecord() {
        assertMalformed("00000001" + "61" + "ff", 1, "1 bytes follow the last of 1 records");
        assertMalformed("00000000", 0, "4 bytes follow the last of 0 records");
    }

    private static void assertMalformed(String hex, long count, String messagePart) {
        ByteBuf in = Unpooled.wrappedBuffer(HEX.parseHex(hex));
        try {
            assertThatThrownBy(() -> RecordBatch.read(in, count, 7))
                    .isInstanceOfSatisfying(ProtocolException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.MALFORMED_FRAME);
                        assertThat(e.requestId()).isEqualTo(7);
                        assertThat(e.getMessage()).contains(messagePart);
                    });
        } finally {
            in.release();
        }
    }
}
