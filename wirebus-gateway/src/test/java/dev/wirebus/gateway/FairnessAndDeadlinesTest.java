package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Per-client limits, per-connection limits and deadlines: one client cannot hurt the others, nothing waits for ever. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FairnessAndDeadlinesTest {
    private GatewayFixture f;
    private final CountDownLatch release = new CountDownLatch(1);

    @AfterEach
    void stop() {
        release.countDown();
        if (f != null) {
            f.close();
        }
    }

    @Test
    void aMessageLargerThanTheSubscriberBufferIsStillDelivered() {
        f = GatewayFixture.start(l -> l.subscriberBufferBytes(4096));
        String big = "x".repeat(20_000);
        f.post("/v1/streams/big/messages", big);
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"c1\",\"stream\":\"big\",\"from\":1}");
            JsonNode answer = ws.next();
            assertThat(answer.get("type").asText()).as("answer %s", answer).isEqualTo("subscribed");
            JsonNode m = ws.next();
            assertThat(m.get("type").asText()).isEqualTo("message");
            assertThat(m.get("data").asText()).isEqualTo(big);
            f.post("/v1/streams/big/messages", "small");
            assertThat(ws.next().get("data").asText()).isEqualTo("small");
        }
        f.post("/v1/streams/alone/messages", big);
        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/alone/events?from=1"))) {
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("1", null, big));
        }
        assertThat(f.rejections("slow_consumer")).isZero();
    }

    @Test
    void subscriptionsBeyondTheConnectionsMaximumGetATypedError() {
        f = GatewayFixture.start(l -> l.maxSubscriptionsPerConnection(2));
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"s1\"}");
            ws.send("{\"op\":\"subscribe\",\"id\":\"b\",\"stream\":\"s2\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            ws.send("{\"op\":\"subscribe\",\"id\":\"c\",\"stream\":\"s3\"}");
            JsonNode e = ws.next();
            assertThat(e.get("type").asText()).isEqualTo("error");
            assertThat(e.get("id").asText()).isEqualTo("c");
            assertThat(e.get("code").asText()).isEqualTo("TOO_MANY_SUBSCRIPTIONS");
            assertThat(e.get("stream").asText()).isEqualTo("s3");
            ws.send("{\"op\":\"unsubscribe\",\"id\":\"u\",\"stream\":\"s1\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("unsubscribed");
            ws.send("{\"op\":\"subscribe\",\"id\":\"d\",\"stream\":\"s3\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
        }
        assertThat(f.rejections("too_many_subscriptions")).isEqualTo(1);
    }

    @Test
    void aWebSocketPeerThatAnswersNoPingIsClosed() {
        f = GatewayFixture.start(l -> l.keepAliveInterval(Duration.ofMillis(100)));
        byte[] nonce = new byte[16];
        new SecureRandom().nextBytes(nonce);
        try (RawHttp raw = RawHttp.connect(f.gateway.port())) {
            raw.write("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce)
                    + "\r\n\r\n");
            assertThat(raw.readLine()).startsWith("HTTP/1.1 101");
            raw.readHeaders();
            // reads the pings but never answers: the gateway hears nothing from this peer
            assertThat(raw.closedByPeer()).isTrue();
        }
    }

    @Test
    void aBodyNotCompleteWithinTheHeaderTimeoutIs408AndClosed() {
        f = GatewayFixture.start(l -> l.headerTimeout(Duration.ofMillis(300)));
        try (RawHttp raw = RawHttp.connect(f.gateway.port())) {
            raw.write("POST /v1/streams/s/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly part");
            RawHttp.Response r = raw.readResponse();
            assertThat(r.status()).isEqualTo(408);
            assertThat(r.body()).contains("BODY_TIMEOUT");
            assertThat(raw.closedByPeer()).isTrue();
        }
        assertThat(f.rejections("body_timeout")).isEqualTo(1);
    }

    @Test
    void oneClientCannotTakeEveryInFlightSlot() {
        f = GatewayFixture.start(l -> l.maxInFlightPerClient(2).maxInFlight(100));
        f.client.respond("slow", r -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return "done".getBytes(StandardCharsets.UTF_8);
        }).join();
        List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            waiting.add(f.http.sendAsync(HttpRequest.newBuilder(f.uri("/v1/requests/slow"))
                    .POST(HttpRequest.BodyPublishers.ofString("q")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() ->
                f.registry.get("wirebus.http.in.flight").gauge().value() == 2);
        // the same address is refused at once; another address is served
        try (RawHttp same = RawHttp.connect(f.gateway.port(), "127.0.0.1", 0);
             RawHttp other = RawHttp.connect(f.gateway.port(), "127.0.0.2", 0)) {
            same.write("POST /v1/streams/s/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx");
            RawHttp.Response refused = same.readResponse();
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.body()).contains("TOO_MANY_IN_FLIGHT");
            assertThat(refused.headers()).containsKey("retry-after");
            other.write("POST /v1/streams/s/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx");
            assertThat(other.readResponse().status()).isEqualTo(200);
        }
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> w : waiting) {
            assertThat(w.join().body()).isEqualTo("done");
        }
        assertThat(f.rejections("too_many_in_flight_per_client")).isEqualTo(1);
    }

    @Test
    void oneClientCannotTakeEveryConnection() {
        f = GatewayFixture.start(l -> l.maxConnectionsPerClient(2));
        try (RawHttp a = RawHttp.connect(f.gateway.port()); RawHttp b = RawHttp.connect(f.gateway.port())) {
            assertThat(a.get("/healthz").status()).isEqualTo(200);
            assertThat(b.get("/healthz").status()).isEqualTo(200);
            try (RawHttp c = RawHttp.connect(f.gateway.port())) {
                RawHttp.Response r = c.readResponse();
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.body()).contains("TOO_MANY_CONNECTIONS");
                assertThat(c.closedByPeer()).isTrue();
            }
            try (RawHttp other = RawHttp.connect(f.gateway.port(), "127.0.0.2", 0)) {
                assertThat(other.get("/healthz").status()).isEqualTo(200);
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> f.get("/healthz").statusCode() == 200);
        assertThat(f.rejections("too_many_connections_per_client")).isEqualTo(1);
    }

    @Test
    void aRequestPastItsOwnTimeoutIs504CountedAsTimeout() {
        f = GatewayFixture.start();
        f.client.respond("stuck", r -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return new byte[0];
        }).join();
        HttpResponse<String> r = f.post("/v1/requests/stuck", "q", "Wirebus-Timeout", "200ms");
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(f.rejections("timeout")).isEqualTo(1);
    }

    @Test
    void aReplyIsOctetStreamWhateverTheRequestsContentType() {
        f = GatewayFixture.start();
        f.client.respond("echo", r -> r.payload()).join();
        HttpResponse<String> r = f.post("/v1/requests/echo", "<b>hi</b>", "Content-Type", "text/html");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/octet-stream");
    }
}
