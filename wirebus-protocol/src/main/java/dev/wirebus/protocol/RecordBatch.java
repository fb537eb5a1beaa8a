package dev.wirebus.protocol;

import io.netty.buffer.ByteBuf;

import java.util.Arrays;
import java.util.List;

/**
 * An immutable run of message payloads in their wire layout: each record is a 4-byte big-endian
 * length followed by that many bytes. PUBLISH_BATCH and DELIVER frames carry this layout
 * unchanged, so the broker stores what a producer sent and hands it to subscribers without
 * re-encoding each message.
 *
 * <pre>{@code
 * RecordBatch batch = RecordBatch.of(List.of("a".getBytes(), "b".getBytes()));
 * byte[] second = batch.payload(1);
 * }</pre>
 *
 * <p>Instances are safe to share between threads; nobody may modify the arrays they wrap.
 */
public final class RecordBatch {
    /** Bytes of the length prefix in front of each record. */
    public static final int RECORD_OVERHEAD = 4;

    private static final RecordBatch EMPTY = new RecordBatch(new byte[0], new int[] {0});

    private final byte[] data;
    private final int[] offsets;

    private RecordBatch(byte[] data, int[] offsets) {
        this.data = data;
        this.offsets = offsets;
    }

    /** An empty batch. */
    public static RecordBatch empty() {
        return EMPTY;
    }

    /** A batch holding one payload. */
    public static RecordBatch of(byte[] payload) {
        byte[] data = new byte[RECORD_OVERHEAD + payload.length];
        putInt(data, 0, payload.length);
        System.arraycopy(payload, 0, data, RECORD_OVERHEAD, payload.length);
        return new RecordBatch(data, new int[] {0, data.length});
    }

    /** A batch holding the payloads in order. */
    public static RecordBatch of(List<byte[]> payloads) {
        int size = 0;
        for (byte[] p : payloads) {
            size += RECORD_OVERHEAD + p.length;
        }
        byte[] data = new byte[size];
        int[] offsets = new int[payloads.size() + 1];
        int pos = 0;
        for (int i = 0; i < payloads.size(); i++) {
            byte[] p = payloads.get(i);
            offsets[i] = pos;
            putInt(data, pos, p.length);
            System.arraycopy(p, 0, data, pos + RECORD_OVERHEAD, p.length);
            pos += RECORD_OVERHEAD + p.length;
        }
        offsets[payloads.size()] = pos;
        return new RecordBatch(data, offsets);
    }

    /**
     * Reads {@code count} records from the readable bytes of {@code in}, which must hold exactly
     * those records, and validates every length prefix.
     *
     * @throws ProtocolException with {@link ErrorCode#MALFORMED_FRAME} when a length runs past the
     *     end or bytes are left over, naming the record
     */
    public static RecordBatch read(ByteBuf in, long count, long requestId) {
        int size = in.readableBytes();
        if (count < 0 || count > size / RECORD_OVERHEAD) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, requestId,
                    "record count " + count + " cannot fit in " + size + " bytes of records");
        }
        byte[] data = new byte[size];
        in.readBytes(data);
        int[] offsets = new int[(int) count + 1];
        int pos = 0;
        for (int i = 0; i < count; i++) {
            if (size - pos < RECORD_OVERHEAD) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, requestId,
                        "record " + i + " of " + count + " has no length prefix: frame ends " + (size - pos)
                                + " bytes into it");
            }
            int len = getInt(data, pos);
            if (len < 0 || len > size - pos - RECORD_OVERHEAD) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME, requestId,
                        "record " + i + " of " + count + " declares " + Integer.toUnsignedString(len)
                                + " bytes but only " + (size - pos - RECORD_OVERHEAD) + " remain in the frame");
            }
            offsets[i] = pos;
            pos += RECORD_OVERHEAD + len;
        }
        if (pos != size) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, requestId,
                    (size - pos) + " bytes follow the last of " + count + " records");
        }
        offsets[(int) count] = pos;
        return new RecordBatch(data, offsets);
    }

    /** Number of records. */
    public int count() {
        return offsets.length - 1;
    }

    /** Bytes of the wire layout, length prefixes included. */
    public int sizeInBytes() {
        return offsets[offsets.length - 1];
    }

    /** Bytes of the wire layout of records {@code [from, to)}. */
    public int sizeInBytes(int from, int to) {
        return offsets[to] - offsets[from];
    }

    /** Length of record {@code i}'s payload. */
    public int payloadLength(int i) {
        return offsets[i + 1] - offsets[i] - RECORD_OVERHEAD;
    }

    /** Largest payload length in the batch. */
    public int maxPayloadLength() {
        int max = 0;
        for (int i = 0; i < count(); i++) {
            max = Math.max(max, payloadLength(i));
        }
        return max;
    }

    /** A copy of record {@code i}'s payload. */
    public byte[] payload(int i) {
        int start = offsets[i] + RECORD_OVERHEAD;
        return Arrays.copyOfRange(data, start, offsets[i + 1]);
    }

    /** A batch viewing records {@code [from, to)} of this one (copies the offsets, not the data). */
    public RecordBatch slice(int from, int to) {
        if (from == 0 && to == count()) {
            return this;
        }
        int[] sub = new int[to - from + 1];
        int base = offsets[from];
        for (int i = 0; i < sub.length; i++) {
            sub[i] = offsets[from + i] - base;
        }
        return new RecordBatch(Arrays.copyOfRange(data, base, offsets[to]), sub);
    }

    /** Writes the wire layout of records {@code [from, to)} to {@code out}. */
    public void writeTo(ByteBuf out, int from, int to) {
        out.writeBytes(data, offsets[from], offsets[to] - offsets[from]);
    }

    /** The wire layout of records {@code [from, to)} as a buffer sharing this batch's memory. */
    ByteBuf wrap(int from, int to) {
        return io.netty.buffer.Unpooled.wrappedBuffer(data, offsets[from], offsets[to] - offsets[from]);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static int getInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }
}
