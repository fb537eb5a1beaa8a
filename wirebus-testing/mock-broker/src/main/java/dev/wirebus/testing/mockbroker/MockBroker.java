package dev.wirebus.testing.mockbroker;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.protocol.FrameDecoder;
import dev.wirebus.protocol.FrameEncoder;
import dev.wirebus.protocol.FrameType;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A scripted broker on a real loopback TCP socket, for testing what a client does when the broker
 * answers out of order, late, never, with GOAWAY, or dies mid-call — in milliseconds, with no
 * real broker and no sleeps.
 *
 * <p>It answers every HELLO with a WELCOME by itself (version 2, {@link #storeId}). Every other
 * frame it receives is recorded for {@link #takeFrame} and then handled by the first
 * {@linkplain #enqueue enqueued} script entry whose frame type matches (each entry is used once,
 * in order), else by a standing {@linkplain #answerAlways rule} for its type, else not at all (the
 * client's call waits until its deadline).
 *
 * <pre>{@code
 * try (MockBroker broker = MockBroker.start()) {
 *     broker.enqueue(FrameType.PUBLISH, Action.answer(f -> new Frame.PublishAck(f.requestId(), 7, 1, false)));
 *     try (WirebusClient c = WirebusClient.builder().address(broker.address()).connect()) {
 *         assertThat(c.publish("s", bytes).join().firstSequence()).isEqualTo(7);
 *     }
 *     Frame.Publish p = broker.takeFrame(Frame.Publish.class, Duration.ofSeconds(5));
 * }
 * }</pre>
 *
 * <p>Bounded: at most {@link #MAX_RECORDED} received frames are kept for {@code takeFrame}; beyond
 * that the broker fails the test with an {@link AssertionError} on the next take. Thread-safe.
 */
public final class MockBroker implements AutoCloseable {
    /** Most received frames kept unread. */
    public static final int MAX_RECORDED = 100_000;

    /** The connection a frame came on; {@link #send} and {@link #close} act on it. */
    public final class Peer {
        private final Channel channel;

        private Peer(Channel channel) {
            this.channel = channel;
        }

        /** Sends a frame to the client. Any thread. */
        public void send(Frame f) {
            channel.writeAndFlush(f);
        }

        /** Closes this connection (the client sees it lost). */
        public void close() {
            channel.close();
        }

        void run(Runnable task) {
            channel.eventLoop().execute(task);
        }

        /** Is this connection still open? */
        public boolean isOpen() {
            return channel.isActive();
        }
    }

    private record Entry(FrameType type, Action action) {
    }

    private final EventLoopGroup group;
    private final Channel server;
    private final BlockingQueue<Frame> received = new LinkedBlockingQueue<>(MAX_RECORDED);
    private final ConcurrentLinkedQueue<Entry> script = new ConcurrentLinkedQueue<>();
    private final Map<FrameType, Action> rules = new ConcurrentHashMap<>();
    private final List<Channel> connections = new CopyOnWriteArrayList<>();
    private final BlockingQueue<Peer> accepted = new LinkedBlockingQueue<>();
    private final AtomicInteger handshakes = new AtomicInteger();
    private volatile long storeId = 1;
    private volatile int version = FrameCodec.PROTOCOL_VERSION;
    private volatile Function<Frame.Hello, Frame> handshake;
    private volatile boolean overflowed;

    private final String host;

    private MockBroker(SslContext ssl, InetAddress bind) {
        host = bind.getHostAddress();
        group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("mock-broker", true),
                NioIoHandler.newFactory());
        ChannelHandler encoder = new FrameEncoder();
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new FrameDecoder(FrameCodec.DEFAULT_MAX_FRAME_LENGTH), encoder,
                                new Handler());
                    }
                })
                .bind(new InetSocketAddress(bind, 0)).syncUninterruptibly().channel();
    }

    /** Starts a mock broker on a free loopback TCP port. */
    public static MockBroker start() {
        return new MockBroker(null, InetAddress.getLoopbackAddress());
    }

    /** Starts a mock broker that speaks TLS with {@code serverContext} (the client uses {@code tls://}). */
    public static MockBroker startTls(SslContext serverContext) {
        return startTls(serverContext, InetAddress.getLoopbackAddress());
    }

    /** {@link #startTls(SslContext)} on another local address (e.g. 127.0.0.2, to test host name checks). */
    public static MockBroker startTls(SslContext serverContext, InetAddress bind) {
        return new MockBroker(Objects.requireNonNull(serverContext, "serverContext"), bind);
    }

    /** {@code tcp://127.0.0.1:PORT} (the address it listens on). */
    public String address() {
        return "tcp://" + host + ":" + port();
    }

    /** {@code tls://127.0.0.1:PORT} (the address it listens on), for a broker made by {@link #startTls}. */
    public String tlsAddress() {
        return "tls://" + host + ":" + port();
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** The store id sent in WELCOME from now on (a different one tells the client the history was lost). */
    public MockBroker storeId(long id) {
        this.storeId = id;
        return this;
    }

    /** The protocol version chosen in WELCOME from now on. */
    public MockBroker version(int v) {
        this.version = v;
        return this;
    }

    /**
     * Answers HELLO with what {@code answer} makes of it instead of the automatic WELCOME (an ERROR,
     * a WELCOME with another version, or null for no answer at all). HELLOs are then recorded too.
     */
    public MockBroker handshake(Function<Frame.Hello, Frame> answer) {
        this.handshake = answer;
        return this;
    }

    /** Handles the next received frame of {@code type} with {@code action} (once; entries are used in order). */
    public MockBroker enqueue(FrameType type, Action action) {
        script.add(new Entry(Objects.requireNonNull(type, "type"), Objects.requireNonNull(action, "action")));
        return this;
    }

    /** Holds the next received frame of {@code type} unanswered until the test {@linkplain Held#release releases} it. */
    public Held enqueueHeld(FrameType type) {
        Held h = new Held();
        enqueue(type, h.action());
        return h;
    }

    /** Handles every frame of {@code type} that no enqueued entry takes with {@code action}. */
    public MockBroker answerAlways(FrameType type, Action action) {
        rules.put(Objects.requireNonNull(type, "type"), Objects.requireNonNull(action, "action"));
        return this;
    }

    /** Stops a standing rule. */
    public MockBroker stopAnswering(FrameType type) {
        rules.remove(type);
        return this;
    }

    /** The next received frame (HELLO only with a {@link #handshake} of the test's), waiting up to {@code timeout}. */
    public Frame takeFrame(Duration timeout) {
        if (overflowed) {
            throw new AssertionError("the mock broker received more than " + MAX_RECORDED + " frames nobody took");
        }
        try {
            Frame f = received.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (f == null) {
                throw new AssertionError("the mock broker received no frame within " + timeout.toMillis() + " ms");
            }
            return f;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while taking a frame");
        }
    }

    /** The next received frame, which must be a {@code type}. */
    public <T extends Frame> T takeFrame(Class<T> type, Duration timeout) {
        Frame f = takeFrame(timeout);
        if (!type.isInstance(f)) {
            throw new AssertionError("expected the client to send " + type.getSimpleName() + " but it sent " + f);
        }
        return type.cast(f);
    }

    /** The next received frame of {@code type}, skipping (and dropping) frames of other types (credits, acks). */
    public <T extends Frame> T takeFrameSkipping(Class<T> type, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("the client sent no " + type.getSimpleName() + " within " + timeout.toMillis()
                        + " ms");
            }
            Frame f = takeFrame(Duration.ofNanos(left));
            if (type.isInstance(f)) {
                return type.cast(f);
            }
        }
    }

    /** Received frames not taken yet, without waiting. */
    public List<Frame> drainFrames() {
        List<Frame> list = new ArrayList<>();
        received.drainTo(list);
        return list;
    }

    /** Waits until the {@code n}th connection was accepted (counting from the start) and returns it. */
    public Peer awaitConnection(int n, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (true) {
                List<Channel> all = connections;
                if (all.size() >= n) {
                    return new Peer(all.get(n - 1));
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || accepted.poll(left, TimeUnit.NANOSECONDS) == null && connections.size() < n) {
                    throw new AssertionError("the mock broker had " + connections.size() + " connection(s), not " + n
                            + ", within " + timeout.toMillis() + " ms");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for a connection");
        }
    }

    /** Connections accepted so far (open or not). */
    public int connectionCount() {
        return connections.size();
    }

    /** Completed handshakes so far. */
    public int handshakeCount() {
        return handshakes.get();
    }

    /** The most recent connection. */
    public Peer latest() {
        if (connections.isEmpty()) {
            throw new AssertionError("no client connected to the mock broker");
        }
        return new Peer(connections.get(connections.size() - 1));
    }

    /** Sends a frame to the client on the most recent connection (a DELIVER, a REQUEST, a GOAWAY...). */
    public void send(Frame f) {
        latest().send(f);
    }

    /** Closes every open connection (the client sees them lost); the listener stays open. */
    public void dropConnections() {
        for (Channel c : connections) {
            c.close().syncUninterruptibly();
        }
    }

    /** Stops listening and closes every connection: a broker that died. */
    @Override
    public void close() {
        server.close().syncUninterruptibly();
        dropConnections();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private void record(Frame f) {
        if (!received.offer(f)) {
            overflowed = true;
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<Frame> {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            connections.add(ctx.channel());
            accepted.add(new Peer(ctx.channel()));
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame f) {
            Peer peer = new Peer(ctx.channel());
            if (f instanceof Frame.Hello hello) {
                Function<Frame.Hello, Frame> custom = handshake;
                if (custom != null) {
                    record(f);
                    Frame answer = custom.apply(hello);
                    if (answer instanceof Frame.Welcome w) {
                        ctx.channel().attr(FrameCodec.VERSION).set(w.version());
                        handshakes.incrementAndGet();
                    }
                    if (answer != null) {
                        ctx.writeAndFlush(answer);
                    }
                    return;
                }
                int v = Math.min(version, hello.maxVersion());
                ctx.channel().attr(FrameCodec.VERSION).set(v);
                handshakes.incrementAndGet();
                ctx.writeAndFlush(new Frame.Welcome(hello.requestId(), v, FrameCodec.DEFAULT_MAX_FRAME_LENGTH, storeId,
                        "mock-broker"));
                return;
            }
            record(f);
            for (Entry e : script) {
                if (e.type() == f.type() && script.remove(e)) {
                    e.action().run(f, peer);
                    return;
                }
            }
            Action rule = rules.get(f.type());
            if (rule != null) {
                rule.run(f, peer);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.writeAndFlush(new Frame.Error(0, ErrorCode.MALFORMED_FRAME, String.valueOf(cause.getMessage())));
            ctx.close();
        }
    }
}
