package dev.wirebus.systemtests;

import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.testing.EmbeddedBroker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/**
 * A hand-driven protocol peer over a real socket, for feeding the broker bytes a well-behaved
 * client never sends. Reads have deadlines.
 */
final class RawConnection implements AutoCloseable {
    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocate(9 << 20);
    /** The protocol version frames are encoded and decoded in (1 until a handshake negotiated another). */
    private int version = 1;
    private Frame.Welcome welcome;
    /** The length field of the last frame read. */
    private int lastLength;

    private RawConnection(SocketChannel channel) {
        this.channel = channel;
    }

    static RawConnection open(EmbeddedBroker broker, EmbeddedBroker.Transport transport) throws IOException {
        return new RawConnection(socket(broker, transport));
    }

    /** A blocking socket connected to the broker's listener of that transport, nothing sent yet. */
    static SocketChannel socket(EmbeddedBroker broker, EmbeddedBroker.Transport transport) throws IOException {
        if (transport == EmbeddedBroker.Transport.UNIX) {
            SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
            ch.connect(UnixDomainSocketAddress.of(broker.broker().unixSocket()));
            return ch;
        }
        return SocketChannel.open(new InetSocketAddress("127.0.0.1", broker.broker().tcpAddress().getPort()));
    }

    /** Opens a connection and completes the handshake. */
    static RawConnection handshaken(EmbeddedBroker broker, EmbeddedBroker.Transport transport) throws IOException {
        return handshaken(broker, transport, 1);
    }

    /** Opens a connection offering versions 1..maxVersion and speaks the version the broker chose. */
    static RawConnection handshaken(EmbeddedBroker broker, EmbeddedBroker.Transport transport, int maxVersion)
            throws IOException {
        RawConnection c = open(broker, transport);
        c.send(new Frame.Hello(1, 1, maxVersion, "raw"));
        Frame w = c.read(Duration.ofSeconds(5));
        if (!(w instanceof Frame.Welcome welcome)) {
            throw new IOException("expected WELCOME, got " + w);
        }
        c.version = welcome.version();
        c.welcome = welcome;
        return c;
    }

    /** The WELCOME of {@link #handshaken}, or null. */
    Frame.Welcome welcome() {
        return welcome;
    }

    int version() {
        return version;
    }

    /** The length field of the frame {@link #read} returned last. */
    int lastLength() {
        return lastLength;
    }

    void send(Frame f) throws IOException {
        ByteBuf buf = FrameCodec.encode(f, io.netty.buffer.UnpooledByteBufAllocator.DEFAULT, version);
        try {
            sendBytes(io.netty.buffer.ByteBufUtil.getBytes(buf));
        } finally {
            buf.release();
        }
    }

    void sendBytes(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** The next frame, or null if the broker closed the connection first. */
    Frame read(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        channel.configureBlocking(false);
        try (var selector = java.nio.channels.Selector.open()) {
            channel.register(selector, java.nio.channels.SelectionKey.OP_READ);
            while (true) {
                in.flip();
                if (in.remaining() >= 4) {
                    int len = in.getInt(in.position());
                    if (in.remaining() >= 4 + len) {
                        ByteBuf body = Unpooled.wrappedBuffer(in.array(), in.position() + 4, len);
                        Frame f = FrameCodec.decode(body, version);
                        lastLength = len;
                        in.position(in.position() + 4 + len);
                        in.compact();
                        return f;
                    }
                }
                in.compact();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("no frame within " + timeout);
                }
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
                int n = channel.read(in);
                if (n < 0) {
                    return null;
                }
            }
        } finally {
            channel.configureBlocking(true);
        }
    }

    /** True when the broker has closed the connection (EOF within the timeout). */
    boolean closedByPeer(Duration timeout) throws IOException {
        try {
            while (true) {
                Frame f = read(timeout);
                if (f == null) {
                    return true;
                }
            }
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("no frame within")) {
                return false;
            }
            return true; // reset by peer
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
