package dev.wirebus.server.internal.storage;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Positional reads of segment files through one reusable 64 KiB buffer, so that walking headers
 * and reading consecutive small entries costs one system call per buffer, not two per entry. A
 * range larger than the buffer is read into a buffer of its own.
 *
 * <p>Relies on segment files being append-only: bytes once read never change, except when a failed
 * append is cut off, after which the owner calls {@link #invalidate()}.
 *
 * <p>Threading: confined to the owning log's thread. A returned buffer is valid until the next call.
 */
final class EntryReader {
    private static final int BUFFER_BYTES = 64 << 10;

    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
    private FileChannel bufferedChannel;
    private long bufferedStart;
    private int bufferedLength;

    /**
     * Bytes {@code [position, position + length)} of {@code channel}, as a buffer whose index 0 is
     * {@code position}.
     *
     * @throws EOFException when the file ends before
     */
    ByteBuffer read(FileChannel channel, long position, int length) throws IOException {
        if (channel == bufferedChannel && position >= bufferedStart
                && position + length <= bufferedStart + bufferedLength) {
            return buffer.slice((int) (position - bufferedStart), length);
        }
        if (length > BUFFER_BYTES) {
            ByteBuffer own = ByteBuffer.allocate(length);
            if (fill(channel, own, position, length) < length) {
                throw new EOFException("file ends before byte " + (position + length));
            }
            return own.flip();
        }
        bufferedChannel = null;
        buffer.clear();
        int n = fill(channel, buffer, position, length);
        if (n < length) {
            throw new EOFException("file ends before byte " + (position + length));
        }
        bufferedChannel = channel;
        bufferedStart = position;
        bufferedLength = n;
        return buffer.slice(0, length);
    }

    /** Forgets the buffered bytes. */
    void invalidate() {
        bufferedChannel = null;
    }

    /** Reads into {@code dst} from {@code position} until it holds at least {@code atLeast} bytes or the file ends. */
    private static int fill(FileChannel channel, ByteBuffer dst, long position, int atLeast) throws IOException {
        while (dst.position() < atLeast) {
            int n = channel.read(dst, position + dst.position());
            if (n < 0) {
                break;
            }
        }
        return dst.position();
    }
}
