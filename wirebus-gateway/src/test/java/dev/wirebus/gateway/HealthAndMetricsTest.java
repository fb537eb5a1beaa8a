package dev.wirebus.gateway;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@Timeout(30)
class HealthAndMetricsTest {
    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void healthIsOkAndReadinessFollowsTheBrokerConnection() {
        f = GatewayFixture.start();
        assertThat(f.get("/healthz").body()).isEqualTo("ok\n");
        assertThat(f.get("/readyz").statusCode()).isEqualTo(200);

        f.broker.close();

        await().atMost(Duration.ofSeconds(10)).until(() -> f.get("/readyz").statusCode() == 503);
        HttpResponse<String> notReady = f.get("/readyz");
        assertThat(GatewayFixture.json(notReady).get("error").get("code").asText()).isEqualTo("BROKER_UNAVAILABLE");
        assertThat(f.get("/healthz").statusCode()).isEqualTo(200);
    }

    @Test
    void metricsShowRequestHistogramsRejectionsConnectionsAndSubscribers() {
        f = GatewayFixture.start(l -> l.maxBodyBytes(16));
        f.post("/v1/streams/m/messages", "small");
        f.post("/v1/streams/m/messages", "far too large for the limit");

        HttpResponse<String> r = f.get("/metrics");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/plain"));
        String text = r.body();
        assertThat(text).contains("wirebus_http_requests_seconds_bucket{");
        assertThat(text).contains("route=\"/v1/streams/{stream}/messages\"");
        assertThat(text).contains("wirebus_http_rejections_total{reason=\"body_too_large\"} 1.0");
        assertThat(text).contains("wirebus_http_rejections_total{reason=\"rate_limited\"} 0.0");
        assertThat(text).contains("wirebus_http_connections_active");
        assertThat(text).contains("wirebus_gateway_subscribers{transport=\"sse\"}");
        assertThat(text).contains("wirebus_gateway_subscribers{transport=\"ws\"}");
        assertThat(text).contains("wirebus_http_in_flight");
    }

    @Test
    void openApiIsTheDocsFileAndThePageIsServed() throws Exception {
        f = GatewayFixture.start();

        HttpResponse<String> api = f.get("/openapi.json");
        HttpResponse<String> page = f.get("/");

        assertThat(api.statusCode()).isEqualTo(200);
        assertThat(api.body()).isEqualTo(Files.readString(Path.of("../docs/openapi.json")));
        assertThat(GatewayFixture.json(api).get("openapi").asText()).startsWith("3.1");
        assertThat(GatewayFixture.json(api).get("paths").fieldNames()).toIterable().contains(
                "/v1/streams/{stream}/messages", "/v1/streams/{stream}/batch", "/v1/streams/{stream}/events",
                "/v1/streams/{stream}", "/v1/requests/{subject}", "/v1/demo/streams/{stream}/tokens", "/v1/ws",
                "/healthz", "/readyz", "/metrics", "/openapi.json", "/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("content-type")).hasValueSatisfying(ct -> assertThat(ct).startsWith("text/html"));
        assertThat(f.get("/no-such-file.js").statusCode()).isEqualTo(404);
        assertThat(f.get("/..%2Fopenapi.json").statusCode()).isEqualTo(404);
    }
}
