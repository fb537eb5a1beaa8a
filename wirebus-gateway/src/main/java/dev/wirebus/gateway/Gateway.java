package dev.wirebus.gateway;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.internal.GatewayServer;
import dev.wirebus.gateway.internal.GatewaySetup;
import io.netty.handler.ssl.SslContext;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.EventLoopGroup;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.concurrent.Executor;

/**
 * The HTTP, Server-Sent Events and WebSocket gateway to a wirebus broker. It speaks to the broker
 * only through the {@link WirebusClient} it is given, so it runs inside the broker's process
 * ({@code wirebus serve} starts one) or as a process of its own.
 *
 * <pre>{@code
 * try (WirebusClient client = WirebusClient.builder().address("tcp://127.0.0.1:7440")
 *         .dispatchExecutor(Gateway.clientDispatchExecutor()).connect();
 *      Gateway gateway = Gateway.builder().client(client).bind("127.0.0.1", 7480).build().start()) {
 *     System.out.println("http://127.0.0.1:" + gateway.port() + "/");
 *     ...
 * }
 * }</pre>
 *
 * <p>To spare a thread hand-off per request, run the client on the gateway's event loops (as
 * {@code wirebus serve} does) and shut them down after both:
 * <pre>{@code
 * EventLoopGroup loops = Gateway.newEventLoopGroup(0);
 * WirebusClient client = WirebusClient.builder().address("unix:///run/wirebus.sock")
 *         .dispatchExecutor(Gateway.clientDispatchExecutor()).eventLoop(loops.next()).connect();
 * Gateway gateway = Gateway.builder().client(client).eventLoopGroup(loops).build().start();
 * }</pre>
 *
 * <p>Lifecycle: {@link Builder#build()} makes a stopped gateway, {@link #start()} binds its port,
 * {@link #close()} closes its connections (subscriptions included) and frees its threads. It does
 * not close the client. Every limit of {@link GatewayLimits} is enforced per connection or per
 * client IP; a slow SSE or WebSocket client is cut (error {@code SLOW_CONSUMER} with the sequence to
 * resume from) rather than buffered for without bound. Thread-safe.
 */
public final class Gateway implements AutoCloseable {
    private final GatewayServer server;

    private Gateway(Builder b) {
        this.server = new GatewayServer(b.client, new InetSocketAddress(b.host, b.port), b.limits, b.registry,
                b.ioThreads, b.eventLoopGroup, new GatewaySetup(b.browserAccess, b.authenticator, b.demo, b.tls,
                        Map.copyOf(b.readiness)));
    }

    /**
     * The dispatch executor for a {@link WirebusClient} the gateway has to itself
     * ({@link WirebusClient.Builder#dispatchExecutor}): it runs message handlers directly on the
     * client's I/O thread. The gateway's handlers never block (they hand each message to a bounded
     * per-connection outbox and return), and its subscriptions share one feed per stream, so one
     * thread does all the fan-out in order: no thread per subscription, no unbounded pool, no
     * hand-off between threads per message. Do not use it for a client whose other handlers block.
     */
    public static Executor clientDispatchExecutor() {
        return DIRECT;
    }

    private static final Executor DIRECT = Runnable::run;

    /**
     * Event loops of the kind the gateway runs on (native epoll where available, NIO otherwise),
     * {@code threads} of them (0: as many as cores, at most 8), named {@code wirebus-http}: to share
     * with the gateway's client ({@link WirebusClient.Builder#eventLoop} with {@code group.next()})
     * and give to {@link Builder#eventLoopGroup}, so that the broker's answers arrive on a thread
     * that also serves HTTP connections. The caller shuts it down after closing both.
     */
    public static EventLoopGroup newEventLoopGroup(int threads) {
        return GatewayServer.newGroup(threads);
    }

    /**
     * How many event loops a gateway beside a broker on the same machine runs by default (as
     * {@code wirebus serve} does): half the cores, at least one, leaving the rest to the broker. On
     * a small machine fewer threads also mean fewer thread wake-ups per request.
     */
    public static int threadsBesideBroker() {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    }

    /** A builder; a client is required, everything else has defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Binds the port and starts serving.
     *
     * @return this gateway
     * @throws java.io.UncheckedIOException when the port cannot be bound
     * @throws IllegalStateException when started twice
     */
    public Gateway start() {
        server.start();
        return this;
    }

    /** The port bound (useful after binding port 0). */
    public int port() {
        return server.address().getPort();
    }

    /** The address bound. */
    public InetSocketAddress address() {
        return server.address();
    }

    /**
     * Bytes written to HTTP connections and not yet taken by the kernel, summed over all
     * connections: per connection about its write-buffer high-water mark and one answer at most,
     * whatever the clients do (SSE and WebSocket subscribers are bounded by the subscriber buffer).
     */
    public long bufferedOutboundBytes() {
        return server.bufferedOutboundBytes();
    }

    /** Closes every connection and stops the gateway's threads. Idempotent. */
    @Override
    public void close() {
        server.close();
    }

    /**
     * Settings of a {@link Gateway}.
     *
     * <pre>{@code
     * Gateway g = Gateway.builder()
     *     .client(client)
     *     .bind("0.0.0.0", 7480)
     *     .limits(GatewayLimits.builder().maxConnections(2000).build())
     *     .meterRegistry(registry)   // scraped by GET /metrics
     *     .build();
     * }</pre>
     */
    public static final class Builder {
        private WirebusClient client;
        private String host = "127.0.0.1";
        private int port = 7480;
        private GatewayLimits limits = GatewayLimits.defaults();
        private PrometheusMeterRegistry registry;
        private int ioThreads;
        private EventLoopGroup eventLoopGroup;
        private BrowserAccess browserAccess = BrowserAccess.defaults();
        private GatewayAuthenticator authenticator = GatewayAuthenticator.OPEN;
        private boolean demo = true;
        private Supplier<SslContext> tls;
        private final Map<String, BooleanSupplier> readiness = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Which web pages may call the gateway and under which host names (default: its own page
         * only; on loopback only localhost, 127.0.0.1 and [::1]). See {@link BrowserAccess}.
         */
        public Builder browserAccess(BrowserAccess access) {
            this.browserAccess = Objects.requireNonNull(access, "access");
            return this;
        }

        /**
         * Who may do what (default {@link GatewayAuthenticator#OPEN}: everyone everything). Every
         * HTTP request, SSE stream and WebSocket message that reaches the broker is checked: a caller
         * without a credential that may not do it gets {@code 401 AUTH_REQUIRED}, a refused token
         * {@code 401 AUTH_FAILED}, a caller not permitted {@code 403 PERMISSION_DENIED}.
         */
        public Builder authenticator(GatewayAuthenticator authenticator) {
            this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
            return this;
        }

        /** Serve the demo page, its files and the demo producer endpoint (default true). */
        public Builder demo(boolean on) {
            this.demo = on;
            return this;
        }

        /** Speak HTTPS (and {@code wss://}) with this server context (default: plain HTTP). */
        public Builder tls(SslContext context) {
            Objects.requireNonNull(context, "context");
            if (!context.isServer()) {
                throw new IllegalArgumentException("the TLS context must be a server context");
            }
            this.tls = () -> context;
            return this;
        }

        /**
         * Speak HTTPS with the context {@code contexts} gives for each new connection: a supplier that
         * reloads a renewed certificate serves it to new connections without a restart.
         */
        public Builder tls(Supplier<SslContext> contexts) {
            this.tls = Objects.requireNonNull(contexts, "contexts");
            return this;
        }

        /**
         * One more thing {@code /readyz} checks besides the broker connection, e.g. {@code "store"}
         * with the reachability of a Redis store: while {@code healthy} answers false, {@code /readyz}
         * answers {@code 503 NOT_READY} naming it. Called on an event loop for each {@code /readyz}:
         * it must not block (return a state kept up to date elsewhere).
         */
        public Builder readinessCheck(String name, BooleanSupplier healthy) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(healthy, "healthy");
            if (name.isBlank()) {
                throw new IllegalArgumentException("a readiness check needs a name");
            }
            readiness.put(name, healthy);
            return this;
        }

        /** The broker connection the gateway uses (required; not closed by the gateway). */
        public Builder client(WirebusClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /** Address to listen on (default 127.0.0.1:7480); port 0 picks a free port. */
        public Builder bind(String host, int port) {
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be 0 to 65535, was " + port);
            }
            this.host = Objects.requireNonNull(host, "host");
            this.port = port;
            return this;
        }

        public Builder limits(GatewayLimits limits) {
            this.limits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /** Where the gateway's meters go and what {@code GET /metrics} scrapes (default: a registry of its own). */
        public Builder meterRegistry(PrometheusMeterRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        /** Event loop threads (default 0: as many as cores, at most 8). */
        public Builder ioThreads(int threads) {
            if (threads < 0) {
                throw new IllegalArgumentException("ioThreads must be at least 0, was " + threads);
            }
            this.ioThreads = threads;
            return this;
        }

        /**
         * Runs the gateway on {@code group} (see {@link Gateway#newEventLoopGroup}) instead of event
         * loops of its own; {@link Gateway#close()} leaves it running. Overrides {@link #ioThreads}.
         */
        public Builder eventLoopGroup(EventLoopGroup group) {
            this.eventLoopGroup = Objects.requireNonNull(group, "eventLoopGroup");
            return this;
        }

        /**
         * A gateway with these settings, not yet started.
         *
         * @throws IllegalStateException without a client
         */
        public Gateway build() {
            if (client == null) {
                throw new IllegalStateException("a gateway needs a client: call client(WirebusClient)");
            }
            if (registry == null) {
                registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            }
            return new Gateway(this);
        }
    }
}
