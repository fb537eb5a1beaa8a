package dev.wirebus.server;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.FrameDecoder;
import dev.wirebus.protocol.FrameEncoder;
import dev.wirebus.server.internal.BrokerContext;
import dev.wirebus.server.internal.BrokerMetrics;
import dev.wirebus.server.internal.ConnectionGuard;
import dev.wirebus.server.internal.ConnectionHandler;
import dev.wirebus.server.internal.DiskStorage;
import dev.wirebus.server.internal.MemoryStorage;
import dev.wirebus.server.internal.StreamStorage;
import dev.wirebus.server.internal.ServerTransport;
import dev.wirebus.server.internal.Stream;
import dev.wirebus.server.internal.UnixSocketFile;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.unix.DomainSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A running wirebus broker: listeners on a Unix domain socket and/or TCP, streams in memory or on
 * disk ({@link BrokerConfig#storage()}), durable consumers, and request routing. {@link #start} binds and returns; {@link #close} shuts down gracefully: GOAWAY
 * to every client, in-flight requests answered or failed within the grace period, connections
 * closed, the socket file removed.
 *
 * <pre>{@code
 * try (Broker broker = Broker.start(BrokerConfig.builder().unixSocket(Path.of("wirebus.sock")).build())) {
 *     System.out.println("listening on " + broker.unixSocket());
 *     broker.awaitTermination();
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class Broker implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Broker.class);

    private final BrokerConfig config;
    private final BrokerContext context;
    private final ServerTransport transport;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup ioGroup;
    private final List<Channel> listeners = new ArrayList<>();
    private final java.util.concurrent.CountDownLatch terminated = new java.util.concurrent.CountDownLatch(1);
    private InetSocketAddress tcpAddress;
    private Path unixSocket;
    private boolean closed;

    private Broker(BrokerConfig config, StreamStorage storage, BrokerMetrics metrics) {
        this.config = config;
        this.context = new BrokerContext(config, storage, metrics);
        this.transport = ServerTransport.best();
        this.bossGroup = transport.newGroup(1, "wirebus-accept");
        this.ioGroup = transport.newGroup(config.ioThreads(), "wirebus-io");
    }

    /**
     * Starts a broker and binds its listeners.
     *
     * @throws IOException when a listener cannot bind; the message names the address and why
     */
    public static Broker start(BrokerConfig config) throws IOException {
        return start(config, config.storage() == BrokerConfig.Storage.DISK
                ? DiskStorage.open(config) : new MemoryStorage(config));
    }

    /**
     * Starts a broker on a store opened by the caller (the Redis store of {@code wirebus-store-redis}),
     * which the broker closes when it stops or fails to start; {@link BrokerConfig#storage()} is ignored.
     *
     * @throws IOException when a listener cannot bind; the message names the address and why
     */
    public static Broker start(BrokerConfig config, StreamStorage storage) throws IOException {
        BrokerMetrics metrics = new BrokerMetrics(config.meterRegistry());
        Broker broker;
        try {
            broker = new Broker(config, storage, metrics);
        } catch (RuntimeException e) {
            metrics.close();
            storage.close();
            throw e;
        }
        try {
            storage.bind(broker.context.streams());
            int recovered = broker.context.streams().recover();
            if (recovered > 0) {
                log.info("opened {} streams from {}", recovered, storage.describe());
            }
            dev.wirebus.server.internal.BrokerSecurity.checkListener(config.tcp(), config.security());
            broker.bind();
            broker.context.security().start(broker.context.connections(), java.time.Duration.ofSeconds(1));
        } catch (IOException | RuntimeException e) {
            // a listener bound before the failure must not stay open, nor its socket file remain
            for (Channel l : broker.listeners) {
                l.close().syncUninterruptibly();
            }
            if (broker.unixSocket != null) {
                UnixSocketFile.remove(broker.unixSocket);
            }
            broker.shutdownGroups();
            broker.closeStorage();
            broker.context.security().close();
            metrics.close();
            throw e;
        }
        return broker;
    }

    private void bind() throws IOException {
        if (config.unixSocket() != null) {
            Path path = config.unixSocket();
            if (UnixSocketFile.prepare(path)) {
                log.info("removed stale socket file {}", path);
            }
            SocketAddress address = transport.isEpoll()
                    ? new DomainSocketAddress(path.toString()) : UnixDomainSocketAddress.of(path);
            listeners.add(bindOne(transport.unixChannel(), address, "unix socket " + path));
            unixSocket = path;
            UnixSocketFile.restrict(path, config.socketPermissions());
            if (config.security().socketGroup() != null) {
                UnixSocketFile.shareWithGroup(path, config.security().socketGroup());
            }
        }
        if (config.tcp() != null) {
            Channel ch = bindOne(transport.tcpChannel(), config.tcp(),
                    "TCP " + config.tcp().getHostString() + ":" + config.tcp().getPort());
            listeners.add(ch);
            tcpAddress = (InetSocketAddress) ch.localAddress();
        }
    }

    private Channel bindOne(Class<? extends io.netty.channel.ServerChannel> type, SocketAddress address,
                            String what) throws IOException {
        ServerBootstrap b = new ServerBootstrap()
                .group(bossGroup, ioGroup)
                .channel(type)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(config.outputHighWater() / 4, config.outputHighWater()))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        String refused = context.connectionLimits().admit(ch);
                        if (refused != null) {
                            refuse(ch, refused);
                            return;
                        }
                        FrameDecoder decoder = new FrameDecoder(config.maxFrameLength());
                        ConnectionHandler handler = new ConnectionHandler(context);
                        ConnectionGuard guard = new ConnectionGuard(context, decoder, handler::idle);
                        if (ch instanceof io.netty.channel.socket.SocketChannel) {
                            dev.wirebus.server.internal.TlsInitializer.addTls(ch, context.security());
                        }
                        ch.pipeline().addLast("output-cap", guard.outputCap());
                        ch.pipeline().addLast("decoder", decoder);
                        ch.pipeline().addLast("encoder", ENCODER);
                        ch.pipeline().addLast("guard", guard);
                        ch.pipeline().addLast("handler", handler);
                    }
                });
        if (address instanceof InetSocketAddress) {
            b.option(ChannelOption.SO_REUSEADDR, true).childOption(ChannelOption.TCP_NODELAY, true);
        }
        try {
            return b.bind(address).syncUninterruptibly().channel();
        } catch (Exception e) {
            String reason = e.getMessage() == null ? String.valueOf(e) : e.getMessage();
            if (reason.contains("Address already in use")) {
                reason = "address already in use (another broker, or another program, listens there)";
            }
            throw new IOException("cannot listen on " + what + ": " + reason, e);
        }
    }

    private static final FrameEncoder ENCODER = new FrameEncoder();

    /**
     * Answers a connection over a connection limit with ERROR CONNECTION_LIMIT and closes it. What
     * the client sent meanwhile (its HELLO) is read and dropped: a TCP socket closed with unread
     * input sends a reset, which could destroy the ERROR before the client reads it.
     */
    private void refuse(Channel ch, String why) {
        log.warn("refused a connection from {}: {}", ch.remoteAddress(), why);
        context.metrics().refusedWithError();
        ch.pipeline().addLast("encoder", ENCODER);
        ch.pipeline().addLast("discard", new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
                io.netty.util.ReferenceCountUtil.release(msg);
            }
        });
        ch.writeAndFlush(new dev.wirebus.protocol.Frame.Error(0, ErrorCode.CONNECTION_LIMIT, why))
                .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
    }

    /** The bound TCP address (with the real port when 0 was asked), or null without TCP. */
    public InetSocketAddress tcpAddress() {
        return tcpAddress;
    }

    /** The Unix socket path, or null without one. */
    public Path unixSocket() {
        return unixSocket;
    }

    /** The settings this broker runs with. */
    public BrokerConfig config() {
        return config;
    }

    /** "epoll" or "nio". */
    public String transportName() {
        return transport.name();
    }

    /** Last sequence of a stream, 0 when it has none or does not exist. */
    public long lastSequence(String stream) {
        Stream s = context.streams().get(stream);
        return s == null ? 0 : s.lastSequence();
    }

    /**
     * Bytes written to client connections and not yet taken by the kernel, summed over all
     * connections. Bounded by the write-buffer high-water mark per connection, whatever the clients do.
     */
    public long bufferedOutboundBytes() {
        long total = 0;
        for (ConnectionHandler c : context.connections()) {
            io.netty.channel.ChannelOutboundBuffer buf = c.channel().unsafe().outboundBuffer();
            if (buf != null) {
                total += buf.totalPendingWriteBytes();
            }
        }
        return total;
    }

    /** Number of open client connections. */
    public int connectionCount() {
        return context.connections().size();
    }

    /**
     * Closes, abruptly and without GOAWAY, every connection whose client gave this name in HELLO
     * (all connections when null). For operators and for tests that prove clients recover.
     *
     * @return how many connections were closed
     */
    public int disconnect(String clientName) {
        int n = 0;
        for (ConnectionHandler c : context.connections()) {
            if (clientName == null || clientName.equals(c.clientName())) {
                c.channel().close();
                n++;
            }
        }
        return n;
    }

    /**
     * Reads the access configuration again and puts it in force for new and open connections
     * (what {@code wirebus serve} does on SIGHUP).
     *
     * @return whether the new configuration is in force (false: it did not load; the old one stays)
     */
    public boolean reloadSecurity() {
        return context.security().reload();
    }

    /**
     * The access configuration in force now (after the last reload): what the HTTP gateway of
     * {@code wirebus serve} checks each HTTP request against.
     */
    public dev.wirebus.security.SecurityConfig security() {
        return context.security().current();
    }

    /**
     * The bearer credential of this broker's own in-process clients, such as the HTTP gateway of
     * {@code wirebus serve} (which checks each HTTP request against the same access configuration):
     * AUTH with it is allowed everything. Random per start; never logged or stored.
     */
    public byte[] internalCredential() {
        return context.security().internalCredential();
    }

    /** Blocks until {@link #close} has finished. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    /**
     * Graceful shutdown: stop accepting, GOAWAY to all clients, wait up to the grace period for
     * in-flight requests, fail the rest with SHUTTING_DOWN, close connections, remove the socket
     * file. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        context.beginShutdown();
        context.security().close();
        for (Channel l : listeners) {
            l.close().syncUninterruptibly();
        }
        for (ConnectionHandler c : context.connections()) {
            c.goAway("broker is shutting down");
        }
        try {
            // in-flight requests end by response, error or their own deadline
            context.router().awaitDrained(config.shutdownGrace());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // shut down at once: what is left fails below
        }
        context.router().failAll(ErrorCode.SHUTTING_DOWN, "broker shut down before the request was answered");
        // take no more frames, then let storage answer what it holds (acks after their fsync, consumer
        // positions written) while the connections can still carry the answers
        for (ConnectionHandler c : context.connections()) {
            c.channel().config().setAutoRead(false);
        }
        context.storage().settle();
        for (ConnectionHandler c : context.connections()) {
            c.channel().writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                    .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        }
        for (ConnectionHandler c : context.connections()) {
            c.channel().closeFuture().awaitUninterruptibly(1, TimeUnit.SECONDS);
        }
        if (unixSocket != null) {
            UnixSocketFile.remove(unixSocket);
        }
        closeStorage();
        shutdownGroups();
        context.metrics().close();
        terminated.countDown();
    }

    /** Completes pending fsyncs, then syncs and closes every log, then releases the store. */
    private void closeStorage() {
        StreamStorage storage = context.storage();
        storage.settle();
        context.streams().closeAll();
        storage.close();
    }

    /** Identifies the store (stable across restarts for disk storage). */
    public long storeId() {
        return context.storeId();
    }

    /** Where streams live, for start-up lines: "memory" or "disk /path (durability …)". */
    public String storageDescription() {
        return context.storage().describe();
    }

    private void shutdownGroups() {
        bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        ioGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
