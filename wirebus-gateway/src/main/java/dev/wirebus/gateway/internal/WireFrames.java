package dev.wirebus.gateway.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.nio.charset.StandardCharsets;

/**
 * Frames encoded to their final bytes, ready for the socket: an HTTP/1.1 chunk of a chunked
 * response, a WebSocket text frame (server to client: unmasked, no extension). A
 * {@link SubscriberOutbox} writes them past the pipeline's HTTP or WebSocket encoder, so the bytes of
 * one message are encoded once and shared by every subscriber's write ({@code retainedDuplicate}),
 * with no per-subscriber encoder objects, promises or copies. Only valid where that encoder would
 * have written the same bytes: inside a chunked response body; on a WebSocket without extensions
 * (the gateway negotiates none).
 */
final class WireFrames {
    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final int WS_FIN_TEXT = 0x81;
    /** The longest text frame header a server writes: 2 bytes and a 64-bit length. */
    static final int MAX_TEXT_HEADER = 10;

    private WireFrames() {
    }

    /** {@code bytes} as one HTTP chunk: {@code <hex length>\r\n<bytes>\r\n}. Non-empty bytes only (an empty chunk ends the body). */
    static ByteBuf chunk(ByteBufAllocator alloc, byte[] bytes) {
        if (bytes.length == 0) {
            throw new IllegalArgumentException("an empty chunk would end the response");
        }
        ByteBuf b = alloc.directBuffer(bytes.length + 12);
        writeHex(b, bytes.length);
        b.writeBytes(CRLF).writeBytes(bytes).writeBytes(CRLF);
        return b;
    }

    /** A chunk made once and shared for ever (a keepalive): write {@code duplicate()}s of it; releasing them is a no-op. */
    static ByteBuf constantChunk(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return Unpooled.unreleasableBuffer(chunk(UnpooledByteBufAllocator.DEFAULT, bytes));
    }

    /** {@code utf8} as one WebSocket text frame. */
    static ByteBuf text(ByteBufAllocator alloc, byte[] utf8) {
        ByteBuf b = alloc.directBuffer(utf8.length + 10);
        writeTextHeader(b, utf8.length);
        return b.writeBytes(utf8);
    }

    /** RFC 6455 §5.2: FIN + opcode 1, no mask, the length in the fewest bytes ({@value #MAX_TEXT_HEADER} at most). */
    static void writeTextHeader(ByteBuf b, long length) {
        b.writeByte(WS_FIN_TEXT);
        if (length < 126) {
            b.writeByte((int) length);
        } else if (length <= 0xFFFF) {
            b.writeByte(126).writeShort((int) length);
        } else {
            b.writeByte(127).writeLong(length);
        }
    }

    private static void writeHex(ByteBuf b, int n) {
        int shift = (31 - Integer.numberOfLeadingZeros(n)) & ~3;
        for (; shift >= 0; shift -= 4) {
            b.writeByte(HEX[(n >>> shift) & 0xF]);
        }
    }
}
