package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.WirebusClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Publishes and subscribes while the broker is gone or hangs: a typed answer, never a hang. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BrokerUnavailableTest {
    private GatewayFixture f;
    private TcpBalancer proxy;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private HttpResponse<String> getWithin(String path, Duration timeout) {
        return f.send(HttpRequest.newBuilder(f.uri(path)).timeout(timeout).GET().build());
    }

    @Test
    void publishAndSubscribeFailFastWith503AndRetryAfterWhileTheBrokerIsDown() {
        f = GatewayFixture.start(l -> l.requestTimeout(Duration.ofSeconds(5)));
        f.broker.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> f.client.state() != ConnectionState.CONNECTED);

        long started = System.nanoTime();
        HttpResponse<String> publish = f.post("/v1/streams/s/messages", "x");
        assertThat(publish.statusCode()).isEqualTo(503);
        assertThat(GatewayFixture.json(publish).at("/error/code").asText()).isEqualTo("BROKER_UNAVAILABLE");
        assertThat(publish.headers().firstValue("retry-after")).hasValue("1");

        HttpResponse<String> sse = getWithin("/v1/streams/s/events?from=beginning", Duration.ofSeconds(4));
        assertThat(sse.statusCode()).isEqualTo(503);
        assertThat(GatewayFixture.json(sse).at("/error/code").asText()).isEqualTo("BROKER_UNAVAILABLE");
        assertThat(sse.headers().firstValue("retry-after")).hasValue("1");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("at once, not at the timeout")
                .isLessThan(Duration.ofSeconds(4));

        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"c1\",\"stream\":\"s\",\"from\":1}");
            JsonNode e = ws.next();
            assertThat(e.get("type").asText()).isEqualTo("error");
            assertThat(e.get("id").asText()).isEqualTo("c1");
            assertThat(e.get("code").asText()).isEqualTo("BROKER_UNAVAILABLE");
            assertThat(e.get("stream").asText()).isEqualTo("s");
            assertThat(e.get("retry_after_ms").asLong()).isPositive();
            ws.send("{\"op\":\"publish\",\"id\":\"p1\",\"stream\":\"s\",\"data\":\"x\"}");
            JsonNode p = ws.next();
            assertThat(p.get("id").asText()).isEqualTo("p1");
            assertThat(p.get("code").asText()).isEqualTo("BROKER_UNAVAILABLE");
        }
        assertThat(f.rejections("broker_unavailable")).isEqualTo(4);
    }

    @Test
    void aSubscribeTheBrokerNeverAnswersGets504OverSseAndATimeoutFrameOverWebSocket() {
        f = GatewayFixture.startWithClient(l -> l.requestTimeout(Duration.ofSeconds(1)), b -> { }, b -> {
            proxy = new TcpBalancer(java.util.List.of(b.broker().tcpAddress()));
            return WirebusClient.builder().address(proxy.address()).name("gateway").connect();
        });
        proxy.stall();
        assertThat(f.client.state()).isEqualTo(ConnectionState.CONNECTED);

        HttpResponse<String> sse = getWithin("/v1/streams/s/events?from=beginning", Duration.ofSeconds(10));
        assertThat(sse.statusCode()).isEqualTo(504);
        assertThat(GatewayFixture.json(sse).at("/error/code").asText()).isEqualTo("TIMEOUT");
        assertThat(f.rejections("timeout")).isEqualTo(1);

        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"c1\",\"stream\":\"s\",\"from\":1}");
            JsonNode e = ws.next();
            assertThat(e.get("type").asText()).isEqualTo("error");
            assertThat(e.get("id").asText()).isEqualTo("c1");
            assertThat(e.get("code").asText()).isEqualTo("TIMEOUT");
            assertThat(e.get("stream").asText()).isEqualTo("s");
            // the subscription is gone: the stream can be subscribed again
            ws.send("{\"op\":\"unsubscribe\",\"id\":\"u1\",\"stream\":\"s\"}");
            assertThat(ws.next().get("code").asText()).isEqualTo("UNKNOWN_SUBSCRIPTION");
        }
    }
}
