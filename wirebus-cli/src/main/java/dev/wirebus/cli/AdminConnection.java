package dev.wirebus.cli;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A short-lived protocol connection of the admin commands ({@code wirebus streams},
 * {@code wirebus stream}, {@code wirebus consumer}): HELLO, AUTH with the token when one is given,
 * one request, one answer, every read with a deadline. Plain TCP and Unix sockets.
 */
final class AdminConnection implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private final SocketChannel channel;
    private final ByteBuffer in = ByteBuffer.allocate(16 << 20);
    private int version = 1;

    private AdminConnection(SocketChannel channel) {
        this.channel = channel;
    }

    /**
     * Connects to {@code address} ({@code unix:///path} or {@code tcp://host:port}), says HELLO and,
     * when {@code token} is not null, AUTH.
     *
     * @throws CliFailure saying why the broker cannot be reached or refused the token
     */
    static AdminConnection open(String address, String token) {
        SocketChannel ch;
        try {
            if (address.startsWith("unix://")) {
                ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(address.substring("unix://".length())));
            } else {
                URI uri = URI.create(address);
                ch = SocketChannel.open(new InetSocketAddress(uri.getHost(), uri.getPort()));
            }
        } catch (IOException e) {
            throw new CliFailure("cannot connect to " + address + ": " + e.getMessage());
        }
        AdminConnection c = new AdminConnection(ch);
        try {
            c.send(new Frame.Hello(1, 1, FrameCodec.PROTOCOL_VERSION, "wirebus-admin"));
            Frame w = c.read();
            if (!(w instanceof Frame.Welcome welcome)) {
                throw new CliFailure("broker answered HELLO with " + describe(w));
            }
            c.version = welcome.version();
            if (token != null) {
                c.send(new Frame.Auth(2, Frame.Auth.BEARER, token.getBytes(StandardCharsets.UTF_8)));
                Frame a = c.read();
                if (!(a instanceof Frame.AuthOk)) {
                    throw new CliFailure("authentication failed: " + describe(a));
                }
            }
            return c;
        } catch (IOException e) {
            c.close();
            throw new CliFailure("broker connection failed: " + e.getMessage());
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Sends {@code request} and returns its answer; an ERROR becomes a {@link CliFailure}. */
    Frame call(Frame request) {
        try {
            send(request);
            Frame f = read();
            if (f instanceof Frame.Error e) {
                throw new CliFailure(ErrorCode.of(e.code()) + ": " + e.message());
            }
            return f;
        } catch (IOException e) {
            throw new CliFailure("broker connection failed: " + e.getMessage());
        }
    }

    private static String describe(Frame f) {
        if (f == null) {
            return "nothing (the connection closed)";
        }
        return f instanceof Frame.Error e ? ErrorCode.of(e.code()) + ": " + e.message() : f.type().toString();
    }

    private void send(Frame f) throws IOException {
        ByteBuf buf = FrameCodec.encode(f, UnpooledByteBufAllocator.DEFAULT, version);
        try {
            ByteBuffer b = ByteBuffer.wrap(ByteBufUtil.getBytes(buf));
            while (b.hasRemaining()) {
                channel.write(b);
            }
        } finally {
            buf.release();
        }
    }

    private Frame read() throws IOException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        channel.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            while (true) {
                in.flip();
                if (in.remaining() >= 4) {
                    int len = in.getInt(in.position());
                    if (in.remaining() >= 4 + len) {
                        Frame f = FrameCodec.decode(Unpooled.wrappedBuffer(in.array(), in.position() + 4, len), version);
                        in.position(in.position() + 4 + len);
                        in.compact();
                        return f;
                    }
                }
                in.compact();
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("no answer within " + TIMEOUT.toSeconds() + " s");
                }
                selector.select(Math.max(1, left / 1_000_000));
                selector.selectedKeys().clear();
                if (channel.read(in) < 0) {
                    return null;
                }
            }
        } finally {
            channel.configureBlocking(true);
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing a connection that failed
        }
    }
}
