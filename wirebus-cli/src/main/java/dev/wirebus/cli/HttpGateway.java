package dev.wirebus.cli;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.gateway.Gateway;
import dev.wirebus.gateway.GatewayAuthenticator;
import dev.wirebus.gateway.GatewayLimits;
import dev.wirebus.server.Broker;
import io.netty.channel.EventLoopGroup;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP gateway {@code wirebus serve} runs beside its broker: a client connected to the broker
 * (over its Unix socket, else TCP) and a {@link Gateway} on that client. Absent with {@code --http off}.
 *
 * <pre>{@code
 * HttpGateway gw = HttpGateway.start(broker, settings.toHttpSettings(), registry);
 * gw.describe(out);
 * gw.close();
 * }</pre>
 */
final class HttpGateway implements AutoCloseable {
    private final WirebusClient client;
    private final Gateway gateway;
    private final EventLoopGroup loops;
    private final GatewayLimits limits;
    private final GatewaySettings browser;

    private HttpGateway(WirebusClient client, Gateway gateway, EventLoopGroup loops, GatewayLimits limits,
                        GatewaySettings browser) {
        this.browser = browser;
        this.client = client;
        this.gateway = gateway;
        this.loops = loops;
        this.limits = limits;
    }

    /** Starts the gateway, or nothing when {@code settings} say off. */
    static HttpGateway start(Broker broker, HttpSettings settings, GatewaySettings browser,
                             io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry) {
        return start(broker, settings, browser, registry, null);
    }

    /**
     * As {@link #start(Broker, HttpSettings, GatewaySettings, io.micrometer.prometheusmetrics.PrometheusMeterRegistry)},
     * with {@code storeReady} (null: none) as the "store" check of {@code /readyz}: false while the
     * store (Redis) cannot be reached.
     */
    static HttpGateway start(Broker broker, HttpSettings settings, GatewaySettings browser,
                             io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry,
                             java.util.function.BooleanSupplier storeReady) {
        if (settings.listen() == null) {
            return new HttpGateway(null, null, null, settings.limits(), browser);
        }
        dev.wirebus.security.SecurityConfig security = broker.security();
        checkListener(settings.listen(), security);
        String address = broker.unixSocket() != null ? "unix://" + broker.unixSocket()
                : "tcp://" + HostPort.of(broker.tcpAddress());
        // one set of event loops for the HTTP connections and the gateway's broker connection: the
        // broker's answers arrive on a thread that also serves HTTP, a thread hand-off fewer per request
        EventLoopGroup loops = Gateway.newEventLoopGroup(settings.effectiveIoThreads());
        WirebusClient client = null;
        try {
            WirebusClient.Builder cb = WirebusClient.builder().address(address).name("wirebus-http")
                    .dispatchExecutor(Gateway.clientDispatchExecutor()).eventLoop(loops.next());
            if (security.enabled()) {
                // the gateway checks each caller itself; to the broker it is the in-process principal
                cb.token(new String(broker.internalCredential(), java.nio.charset.StandardCharsets.US_ASCII));
            }
            client = cb.connect();
            Gateway.Builder builder = Gateway.builder().client(client)
                    .bind(settings.listen().host(), settings.listen().port())
                    .limits(settings.limits())
                    .meterRegistry(registry)
                    .eventLoopGroup(loops)
                    .browserAccess(browser.access())
                    .demo(browser.demo())
                    // the configuration in force, asked per call: a reload (SIGHUP, file change) applies at once
                    .authenticator(security.enabled() ? GatewayAuthenticator.of(broker::security)
                            : GatewayAuthenticator.OPEN);
            browser.tls().ifPresent(tls -> builder.tls(tls::current));
            if (storeReady != null) {
                builder.readinessCheck("store", storeReady);
            }
            Gateway gateway = builder.build().start();
            return new HttpGateway(client, gateway, loops, settings.limits(), browser);
        } catch (RuntimeException e) {
            if (client != null) {
                client.close();
            }
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    /**
     * Refuses a gateway on a non-loopback address that nobody could authenticate to, unless
     * {@code allow-anonymous} / {@code --insecure} (the broker's rule for its TCP listener).
     */
    static void checkListener(HostPort listen, dev.wirebus.security.SecurityConfig security) {
        java.net.InetSocketAddress at = listen.toSocketAddress();
        if (at.getAddress() == null || at.getAddress().isLoopbackAddress() || security.hasNetworkAuthentication()) {
            return;
        }
        if (security.allowAnonymous()) {
            org.slf4j.LoggerFactory.getLogger(HttpGateway.class).warn("HTTP gateway on {} without authentication "
                    + "(allow-anonymous / --insecure): any web client that reaches it {}", listen,
                    security.enabled() ? "has the permissions of 'anonymous'" : "may do anything");
            return;
        }
        throw new IllegalStateException("refusing to serve HTTP on " + listen + " without authentication: anyone on "
                + "the network could publish, read and respond. Configure tokens or JWTs in [security] "
                + "(docs/security.md), bind --http to 127.0.0.1, or accept the risk with --insecure");
    }

    /** Prints where the gateway listens and its limits, or that it is off. */
    void describe(PrintWriter out) {
        if (gateway == null) {
            out.println("wirebus http: off");
            return;
        }
        HostPort at = HostPort.of(gateway.address());
        out.println("wirebus http on " + (browser.tlsCert().isPresent() ? "https://" : "http://") + at + "/"
                + (browser.demo() ? "" : " (demo off)"));
        if (browser.access().anyOrigin() || !browser.access().origins().isEmpty() || !browser.access().hosts().isEmpty()) {
            out.println("wirebus http browser access: " + browser.access());
        }
        out.println("wirebus http limits: " + new HttpRate(limits.ratePermits(), limits.ratePeriod())
                + " per client IP, body " + Sizes.format(limits.maxBodyBytes())
                + ", headers " + Sizes.format(limits.maxHeaderBytes())
                + ", request timeout " + format(limits.requestTimeout())
                + ", in flight " + limits.maxInFlight() + " (" + limits.maxInFlightPerClient() + " per client IP)"
                + ", connections " + limits.maxConnections() + " (" + limits.maxConnectionsPerClient() + " per client IP)"
                + ", idle " + format(limits.idleTimeout())
                + ", header timeout " + format(limits.headerTimeout())
                + ", subscriber buffer " + Sizes.format(limits.subscriberBufferBytes()));
    }

    private static String format(Duration d) {
        return DurationConverter.format(d);
    }

    @Override
    public void close() {
        if (gateway != null) {
            gateway.close();
            client.close();
            loops.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }
}
