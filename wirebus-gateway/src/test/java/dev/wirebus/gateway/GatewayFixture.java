package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.testing.EmbeddedBroker;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Consumer;

/** A real broker, a client connected to it over its Unix socket, and a gateway on a free port of 127.0.0.1. */
final class GatewayFixture implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();

    final EmbeddedBroker broker;
    final WirebusClient client;
    final Gateway gateway;
    final PrometheusMeterRegistry registry;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private GatewayFixture(EmbeddedBroker broker, WirebusClient client, Gateway gateway,
                           PrometheusMeterRegistry registry) {
        this.broker = broker;
        this.client = client;
        this.gateway = gateway;
        this.registry = registry;
    }

    static GatewayFixture start() {
        return start(l -> { }, b -> { });
    }

    static GatewayFixture start(Consumer<GatewayLimits.Builder> limits) {
        return start(limits, b -> { });
    }

    static GatewayFixture start(Consumer<GatewayLimits.Builder> limits, Consumer<BrokerConfig.Builder> broker) {
        return startWithClient(limits, broker, b -> b.client(EmbeddedBroker.Transport.UNIX).name("gateway").connect());
    }

    /** A gateway whose client {@code connect} makes, e.g. through a proxy. */
    static GatewayFixture startWithClient(Consumer<GatewayLimits.Builder> limits, Consumer<BrokerConfig.Builder> broker,
                                          java.util.function.Function<EmbeddedBroker, WirebusClient> connect) {
        return startWith(limits, broker, connect, g -> { });
    }

    /** A gateway with more settings ({@code gateway} adds them to its builder). */
    static GatewayFixture startWith(Consumer<Gateway.Builder> gateway) {
        return startWith(l -> { }, b -> { }, b -> b.client(EmbeddedBroker.Transport.UNIX).name("gateway").connect(),
                gateway);
    }

    static GatewayFixture startWith(Consumer<GatewayLimits.Builder> limits, Consumer<BrokerConfig.Builder> broker,
                                    java.util.function.Function<EmbeddedBroker, WirebusClient> connect,
                                    Consumer<Gateway.Builder> gateway) {
        EmbeddedBroker b = EmbeddedBroker.start(broker);
        WirebusClient c = connect.apply(b);
        GatewayLimits.Builder lb = GatewayLimits.builder();
        limits.accept(lb);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Gateway.Builder gb = Gateway.builder().client(c).bind("127.0.0.1", 0).limits(lb.build()).meterRegistry(registry);
        gateway.accept(gb);
        Gateway g = gb.build().start();
        return new GatewayFixture(b, c, g, registry);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + gateway.port() + path);
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).GET().build());
    }

    HttpResponse<String> post(String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b.build());
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The count of {@code wirebus_http_rejections_total{reason=...}}. */
    double rejections(String reason) {
        return registry.get("wirebus.http.rejections").tag("reason", reason).counter().count();
    }

    static JsonNode json(HttpResponse<String> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + r.body(), e);
        }
    }

    @Override
    public void close() {
        gateway.close();
        client.close();
        broker.close();
    }
}
