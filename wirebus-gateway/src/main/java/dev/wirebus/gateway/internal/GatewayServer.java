package dev.wirebus.gateway.internal;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.GatewayLimits;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.wirebus.security.Operation;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Binds the gateway's port (epoll when available, NIO otherwise), wires the routes, and closes
 * every connection on {@link #close()}.
 */
public final class GatewayServer {
    private final InetSocketAddress requested;
    private final GatewayContext gateway;
    private final int ioThreads;
    private final EventLoopGroup external;
    private EventLoopGroup group;
    private Channel serverChannel;
    private ChannelGroup connections;
    private ScheduledFuture<?> evictor;
    private boolean started;
    private boolean closed;

    /** @param external event loops of the caller's (not shut down on close), or null for loops of its own */
    public GatewayServer(WirebusClient client, InetSocketAddress address, GatewayLimits limits,
                         PrometheusMeterRegistry registry, int ioThreads, EventLoopGroup external) {
        this(client, address, limits, registry, ioThreads, external, GatewaySetup.defaults());
    }

    /** @param external event loops of the caller's (not shut down on close), or null for loops of its own */
    public GatewayServer(WirebusClient client, InetSocketAddress address, GatewayLimits limits,
                         PrometheusMeterRegistry registry, int ioThreads, EventLoopGroup external, GatewaySetup setup) {
        this.requested = address;
        this.gateway = new GatewayContext(client, limits, registry, setup);
        this.ioThreads = ioThreads;
        this.external = external;
    }

    /** {@code threads} event loops (0: as many as cores, at most 8) of the transport the gateway binds with. */
    public static EventLoopGroup newGroup(int threads) {
        int n = threads > 0 ? threads : Math.min(8, Runtime.getRuntime().availableProcessors());
        IoHandlerFactory factory = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory("wirebus-http", true), factory);
    }

    private void shutdownGroup(long quietSeconds, long timeoutSeconds) {
        if (external == null) {
            group.shutdownGracefully(quietSeconds, timeoutSeconds, TimeUnit.SECONDS)
                    .awaitUninterruptibly(timeoutSeconds + 3, TimeUnit.SECONDS);
        }
    }

    private Router routes(DemoTokenProducer demo) {
        StaticResources files = new StaticResources();
        Router r = new Router()
                .add(HttpMethod.POST, "/v1/streams/{stream}/messages", Route.Kind.BROKER, new PublishEndpoint(),
                        Operation.PUBLISH, "stream")
                .add(HttpMethod.GET, "/v1/streams/{stream}/messages", Route.Kind.BROKER, new ReadEndpoint(),
                        Operation.READ, "stream")
                .add(HttpMethod.POST, "/v1/streams/{stream}/batch", Route.Kind.BROKER, new BatchPublishEndpoint(),
                        Operation.PUBLISH, "stream")
                .add(HttpMethod.GET, "/v1/streams/{stream}/events", Route.Kind.STREAMING, new SseEndpoint(),
                        Operation.READ, "stream")
                .add(HttpMethod.GET, "/v1/streams/{stream}", Route.Kind.BROKER, new StreamInfoEndpoint(),
                        Operation.ADMIN, "stream")
                // admin: the list is filtered per stream by the caller's admin permission
                .add(HttpMethod.GET, "/v1/streams", Route.Kind.BROKER, AdminEndpoints::list)
                .add(HttpMethod.DELETE, "/v1/streams/{stream}", Route.Kind.BROKER, AdminEndpoints::deleteStream,
                        Operation.ADMIN, "stream")
                .add(HttpMethod.POST, "/v1/streams/{stream}/trim", Route.Kind.BROKER, AdminEndpoints::trim,
                        Operation.ADMIN, "stream")
                .add(HttpMethod.DELETE, "/v1/streams/{stream}/consumers/{consumer}", Route.Kind.BROKER,
                        AdminEndpoints::deleteConsumer, Operation.ADMIN, "stream")
                .add(HttpMethod.POST, "/v1/requests/{subject}", Route.Kind.BROKER, new RequestEndpoint(),
                        Operation.REQUEST, "subject")
                .add(HttpMethod.GET, "/v1/ws", Route.Kind.STREAMING, new WebSocketEndpoint()) // checked per message
                .add(HttpMethod.GET, "/healthz", Route.Kind.EXEMPT, HealthEndpoints::health)
                .add(HttpMethod.GET, "/readyz", Route.Kind.EXEMPT, HealthEndpoints::ready)
                // the scrape names streams, principals and clients: admin on "*" (granted by admin = [">"]),
                // which the open gateway (no access control) allows everyone; /healthz and /readyz stay open
                .add(HttpMethod.GET, "/metrics", Route.Kind.EXEMPT, HealthEndpoints::metrics, Operation.ADMIN, null)
                .add(HttpMethod.GET, "/openapi.json", Route.Kind.LOCAL, files::openApi);
        if (gateway.setup().demo()) {
            r.add(HttpMethod.POST, "/v1/demo/streams/{stream}/tokens", Route.Kind.BROKER, new DemoEndpoint(demo),
                            Operation.PUBLISH, "stream")
                    .add(HttpMethod.GET, "/", Route.Kind.LOCAL, files::index)
                    .add(HttpMethod.GET, "/{file}", Route.Kind.LOCAL, files::file);
        }
        return r;
    }

    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("the gateway was started already");
        }
        started = true;
        boolean epoll = Epoll.isAvailable();
        group = external != null ? external : newGroup(ioThreads);
        gateway.router(routes(new DemoTokenProducer(gateway.client(), group)));
        gateway.feeds().scheduler(group);
        connections = new DefaultChannelGroup("wirebus-http", GlobalEventExecutor.INSTANCE);
        Class<? extends ServerChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new HttpPipeline(gateway, connections));
        try {
            serverChannel = b.bind(requested).syncUninterruptibly().channel();
            java.net.InetAddress bound = ((InetSocketAddress) serverChannel.localAddress()).getAddress();
            gateway.guard(new RequestGuard(gateway.setup().access(), bound.isLoopbackAddress(),
                    gateway.setup().tls() != null));
        } catch (Exception e) {
            shutdownGroup(0, 1);
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            throw new UncheckedIOException("cannot listen for HTTP on " + requested.getHostString() + ":"
                    + requested.getPort() + ": " + why, e instanceof IOException ? (IOException) e : new IOException(e));
        }
        evictor = group.next().scheduleAtFixedRate(gateway.rateLimiter()::evictIdle, 1, 1, TimeUnit.MINUTES);
    }

    public synchronized InetSocketAddress address() {
        if (serverChannel == null) {
            throw new IllegalStateException("the gateway is not started");
        }
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** The shared state, for tests. */
    /** Bytes queued for HTTP connections and not yet taken by the kernel. */
    public synchronized long bufferedOutboundBytes() {
        long total = 0;
        if (connections != null) {
            for (io.netty.channel.Channel ch : connections) {
                io.netty.channel.ChannelOutboundBuffer buf = ch.unsafe().outboundBuffer();
                if (buf != null) {
                    total += buf.totalPendingWriteBytes();
                }
            }
        }
        return total;
    }

    public GatewayContext context() {
        return gateway;
    }

    public synchronized void close() {
        if (closed || !started) {
            closed = true;
            return;
        }
        closed = true;
        if (evictor != null) {
            evictor.cancel(false);
        }
        if (serverChannel != null) {
            serverChannel.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        gateway.feeds().close();
        shutdownGroup(0, 2);
    }
}
