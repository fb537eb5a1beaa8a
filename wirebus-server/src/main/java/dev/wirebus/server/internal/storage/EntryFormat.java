package dev.wirebus.server.internal.storage;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The byte layout of one log entry (one appended record batch), all integers big-endian:
 *
 * <pre>
 * offset size field
 *  0      1   magic and format version: 0xB1
 *  1      1   flags: 0, or 1 when a producer stamp opens the payload
 *  2      2   stamp length: 0 without flag 1, else the stamp's bytes (u16)
 *  4      4   record count (u32, at least 1)
 *  8      8   base sequence: sequence of the first record (u64, at least 1)
 * 16      8   append time, milliseconds since the epoch
 * 24      4   payload length in bytes (u32)
 * 28      4   CRC32C of bytes 0..27 followed by the payload
 * 32      n   payload: the stamp (if any), then the batch's wire layout, count x [u32 length][bytes]
 * </pre>
 *
 * <p>A producer stamp (an idempotent producer's batch) is {@code [u16 id length][id, UTF-8][u64
 * producer sequence]}; it is covered by the CRC like the records, and the payload length includes it.
 *
 * <p>Stateless; all methods are safe to call from any thread on buffers that thread owns.
 */
final class EntryFormat {
    static final int HEADER_BYTES = 32;
    static final byte MAGIC = (byte) 0xB1;

    private static final int FLAGS = 1;
    private static final int STAMP_LENGTH = 2;
    static final int FLAG_STAMP = 1;
    private static final int COUNT = 4;
    private static final int BASE_SEQUENCE = 8;
    private static final int TIMESTAMP = 16;
    private static final int PAYLOAD_LENGTH = 24;
    private static final int CRC = 28;
    private static final int RECORD_PREFIX = 4;

    private EntryFormat() {
    }

    /** The fields of an entry header. */
    record Header(long baseSequence, int count, long timestamp, int payloadLength, int crc, int stampLength) {
        /** Offset of the first record's length prefix from the start of the entry. */
        int recordsOffset() {
            return HEADER_BYTES + stampLength;
        }

        /** Bytes of the records' wire layout. */
        int recordsLength() {
            return payloadLength - stampLength;
        }

        /** Sequence after the entry's last record. */
        long nextSequence() {
            return baseSequence + count;
        }

        /** Bytes of the whole entry, header included. */
        long entryBytes() {
            return HEADER_BYTES + (long) payloadLength;
        }
    }

    /**
     * Writes a complete header, CRC included, at {@code buf[at]} for the payload already at
     * {@code buf[at + HEADER_BYTES]}. Does not move the buffer's position.
     */
    static void writeHeader(ByteBuffer buf, int at, long baseSequence, int count, long timestamp, int payloadLength,
                            int stampLength) {
        buf.put(at, MAGIC);
        buf.put(at + FLAGS, (byte) (stampLength == 0 ? 0 : FLAG_STAMP));
        buf.putShort(at + STAMP_LENGTH, (short) stampLength);
        buf.putInt(at + COUNT, count);
        buf.putLong(at + BASE_SEQUENCE, baseSequence);
        buf.putLong(at + TIMESTAMP, timestamp);
        buf.putInt(at + PAYLOAD_LENGTH, payloadLength);
        buf.putInt(at + CRC, checksum(buf, at, payloadLength));
    }

    /** Bytes of the stamp for a producer id of {@code idBytes} UTF-8 bytes. */
    static int stampLength(int idBytes) {
        return 2 + idBytes + 8;
    }

    /** Writes a producer stamp at {@code buf[at]}; returns its length. */
    static int writeStamp(ByteBuffer buf, int at, byte[] producerId, long producerSequence) {
        buf.putShort(at, (short) producerId.length);
        buf.put(at + 2, producerId);
        buf.putLong(at + 2 + producerId.length, producerSequence);
        return stampLength(producerId.length);
    }

    /** A producer stamp read back. */
    record Stamp(String producerId, long producerSequence) {
    }

    /** Reads the stamp at {@code buf[at]} of the given length (checked by {@link #payloadDefect} or the caller). */
    static Stamp readStamp(ByteBuffer buf, int at, int stampLength) {
        int idLength = buf.getShort(at) & 0xffff;
        if (stampLength(idLength) != stampLength) {
            return null;
        }
        byte[] id = new byte[idLength];
        buf.get(at + 2, id);
        return new Stamp(new String(id, java.nio.charset.StandardCharsets.UTF_8), buf.getLong(at + 2 + idLength));
    }

    /** CRC32C of the header fields before the CRC and the {@code payloadLength} bytes after the header. */
    static int checksum(ByteBuffer buf, int at, int payloadLength) {
        CRC32C crc = new CRC32C();
        crc.update(buf.slice(at, CRC));
        crc.update(buf.slice(at + HEADER_BYTES, payloadLength));
        return (int) crc.getValue();
    }

    /** Reads the header fields at {@code buf[at]} without judging them. */
    static Header readHeader(ByteBuffer buf, int at) {
        return new Header(buf.getLong(at + BASE_SEQUENCE), buf.getInt(at + COUNT), buf.getLong(at + TIMESTAMP),
                buf.getInt(at + PAYLOAD_LENGTH), buf.getInt(at + CRC), buf.getShort(at + STAMP_LENGTH) & 0xffff);
    }

    /**
     * What is wrong with the header at {@code buf[at]} on its own (not its CRC, which covers the
     * payload too), or null when it is well formed.
     */
    static String headerDefect(ByteBuffer buf, int at) {
        if (buf.get(at) != MAGIC) {
            return String.format("bad magic 0x%02x", buf.get(at) & 0xff);
        }
        int flags = buf.get(at + FLAGS);
        int stamp = buf.getShort(at + STAMP_LENGTH) & 0xffff;
        if (flags == 0 ? stamp != 0 : flags != FLAG_STAMP || stamp < stampLength(1)) {
            return "bad flags " + flags + " with stamp length " + stamp;
        }
        int count = buf.getInt(at + COUNT);
        int length = buf.getInt(at + PAYLOAD_LENGTH);
        if (count < 1 || length < 0 || (length - stamp) / RECORD_PREFIX < count) {
            return "record count " + Integer.toUnsignedString(count) + " cannot fit in payload length "
                    + Integer.toUnsignedString(length);
        }
        if (buf.getLong(at + BASE_SEQUENCE) < 1) {
            return "base sequence " + buf.getLong(at + BASE_SEQUENCE) + " below 1";
        }
        return null;
    }

    /**
     * What is wrong with the complete entry at {@code buf[at]} whose header is well formed: a CRC
     * mismatch or a record layout that does not fill the payload exactly; null when it is sound.
     */
    static String payloadDefect(ByteBuffer buf, int at, Header header) {
        int actual = checksum(buf, at, header.payloadLength());
        if (actual != header.crc()) {
            return String.format("CRC32C mismatch (stored %08x, computed %08x)", header.crc(), actual);
        }
        if (header.stampLength() > 0 && readStamp(buf, at + HEADER_BYTES, header.stampLength()) == null) {
            return "producer stamp does not fill its " + header.stampLength() + " bytes";
        }
        long pos = at + header.recordsOffset();
        long end = at + HEADER_BYTES + (long) header.payloadLength();
        for (int i = 0; i < header.count(); i++) {
            if (end - pos < RECORD_PREFIX) {
                return "record " + i + " has no length prefix";
            }
            long len = Integer.toUnsignedLong(buf.getInt((int) pos));
            pos += RECORD_PREFIX + len;
            if (pos > end) {
                return "record " + i + " runs past the payload";
            }
        }
        return pos == end ? null : (end - pos) + " bytes follow the last record";
    }
}
