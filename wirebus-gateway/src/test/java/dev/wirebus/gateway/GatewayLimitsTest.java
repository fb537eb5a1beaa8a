package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@Timeout(60)
class GatewayLimitsTest {
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
    void floodFromOneAddressGets429WhileAnotherAddressIsServed() {
        // one token per 3 minutes: the 60 requests below cannot earn another while they run, however slow the machine
        f = GatewayFixture.start(l -> l.rateLimit(20, Duration.ofHours(1)));
        List<Integer> statuses = new ArrayList<>();
        HttpResponse<String> limited = null;
        for (int i = 0; i < 60; i++) {
            HttpResponse<String> r = f.get("/openapi.json");
            statuses.add(r.statusCode());
            if (r.statusCode() == 429) {
                limited = r;
            }
        }

        assertThat(statuses).filteredOn(s -> s == 200).hasSize(20);
        assertThat(statuses).filteredOn(s -> s == 429).hasSize(40);
        assertThat(limited.headers().firstValue("Retry-After")).hasValueSatisfying(v ->
                assertThat(Long.parseLong(v)).isPositive());
        assertThat(GatewayFixture.json(limited).get("error").get("code").asText()).isEqualTo("RATE_LIMITED");
        try (RawHttp other = RawHttp.connect(f.gateway.port(), "127.0.0.2", 0)) {
            assertThat(other.get("/openapi.json").status()).isEqualTo(200);
        }
        // a limited client keeps its connection: two refusals on one socket
        try (RawHttp same = RawHttp.connect(f.gateway.port())) {
            assertThat(same.get("/openapi.json").status()).isEqualTo(429);
            assertThat(same.get("/openapi.json").status()).isEqualTo(429);
        }
        assertThat(f.rejections("rate_limited")).isEqualTo(42);
        assertThat(f.get("/healthz").statusCode()).as("health checks are exempt").isEqualTo(200);
    }

    @Test
    void bodyOverTheLimitIs413() {
        f = GatewayFixture.start(l -> l.maxBodyBytes(1024));

        HttpResponse<String> r = f.post("/v1/streams/big/messages", "x".repeat(4096));

        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(GatewayFixture.json(r).get("error").get("code").asText()).isEqualTo("BODY_TOO_LARGE");
        assertThat(f.post("/v1/streams/big/messages", "x".repeat(1000)).statusCode()).isEqualTo(200);
        assertThat(f.rejections("body_too_large")).isEqualTo(1);
    }

    @Test
    void headersOverTheLimitAre431AndTheConnectionCloses() {
        f = GatewayFixture.start(l -> l.maxHeaderBytes(1024));
        try (RawHttp raw = RawHttp.connect(f.gateway.port())) {
            raw.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "y".repeat(4000) + "\r\n\r\n");

            RawHttp.Response r = raw.readResponse();

            assertThat(r.status()).isEqualTo(431);
            assertThat(r.body()).contains("HEADER_TOO_LARGE");
            assertThat(raw.closedByPeer()).isTrue();
        }
        assertThat(f.rejections("header_too_large")).isEqualTo(1);
    }

    @Test
    void requestTheBrokerDoesNotAnswerInTimeIs504() {
        f = GatewayFixture.start(l -> l.requestTimeout(Duration.ofMillis(300)));
        f.client.respond("slow", req -> {
            release.await();
            return new byte[0];
        }).join();

        HttpResponse<String> r = f.post("/v1/requests/slow", "x", "Wirebus-Timeout", "30s");

        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(GatewayFixture.json(r).get("error").get("code").asText()).isEqualTo("TIMEOUT");
        assertThat(f.rejections("timeout")).isEqualTo(1);
        assertThat(f.get("/healthz").statusCode()).as("the connection goes on").isEqualTo(200);
    }

    @Test
    void requestsBeyondTheInFlightLimitAre503WithRetryAfter() {
        f = GatewayFixture.start(l -> l.maxInFlight(2));
        f.client.respond("slow", req -> {
            release.await();
            return "done".getBytes();
        }).join();
        List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            waiting.add(f.http.sendAsync(HttpRequest.newBuilder(f.uri("/v1/requests/slow"))
                    .POST(HttpRequest.BodyPublishers.ofString("x")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> f.registry.get("wirebus.http.in.flight").gauge().value() == 2);

        HttpResponse<String> refused = f.post("/v1/requests/slow", "x");

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).contains("1");
        assertThat(GatewayFixture.json(refused).get("error").get("code").asText()).isEqualTo("TOO_MANY_IN_FLIGHT");
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> w : waiting) {
            assertThat(w.join().body()).isEqualTo("done");
        }
        assertThat(f.rejections("too_many_in_flight")).isEqualTo(1);
    }

    @Test
    void slowLorisIsClosedByTheHeaderTimeout() {
        f = GatewayFixture.start(l -> l.headerTimeout(Duration.ofMillis(300)));
        try (RawHttp raw = RawHttp.connect(f.gateway.port())) {
            raw.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1");

            RawHttp.Response r = raw.readResponse();

            assertThat(r.status()).isEqualTo(408);
            assertThat(raw.closedByPeer()).isTrue();
        }
        // once the gateway has let go of the connection, everything it did about it is counted: one rejection
        await().atMost(Duration.ofSeconds(10))
                .until(() -> f.registry.get("wirebus.http.connections.active").gauge().value() == 0);
        assertThat(f.rejections("header_timeout")).isEqualTo(1);
        assertThat(f.rejections("bad_request")).isZero();
    }

    @Test
    void pipelinedRequestsWhoseAnswersAreNotReadWaitForThem() throws Exception {
        f = GatewayFixture.start(l -> l.maxPipelined(4));
        int answer = 200_000;
        f.client.publish("big", "x".repeat(answer).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .get(10, java.util.concurrent.TimeUnit.SECONDS);
        int requests = 100; // 20 MB of answers (Netty's codec refuses more than 128 pipelined)
        try (RawHttp raw = RawHttp.connect(f.gateway.port(), "127.0.0.1", 4096)) {
            raw.write("GET /v1/streams/big/messages?from=1&limit=1&encoding=text HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    .repeat(requests));
            java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                peak.accumulateAndGet(f.gateway.bufferedOutboundBytes(), Math::max);
                return f.registry.get("wirebus.http.connections.paused").gauge().value() == 1;
            });
            peak.accumulateAndGet(f.gateway.bufferedOutboundBytes(), Math::max);
            // the write-buffer mark (64 KiB) and one answer, not what 200 answers take
            assertThat(peak.get()).isLessThanOrEqualTo(64 * 1024 + answer + 4096);
            assertThat(answered("/v1/streams/{stream}/messages")).isLessThan(requests);
            // another client is served meanwhile
            assertThat(f.get("/healthz").statusCode()).isEqualTo(200);
            // the client reads at last: every answer, in order, none lost
            for (int i = 0; i < requests; i++) {
                RawHttp.Response r = raw.readResponse();
                assertThat(r.status()).isEqualTo(200);
                assertThat(r.body()).contains("x".repeat(1000));
            }
        }
        assertThat(answered("/v1/streams/{stream}/messages")).isEqualTo(requests);
    }

    private long answered(String route) {
        return f.registry.find("wirebus.http.requests").tag("route", route).timers().stream()
                .mapToLong(io.micrometer.core.instrument.Timer::count).sum();
    }

    @Test
    void keptAliveConnectionIsNotCutByTheHeaderTimeoutOfItsFirstRequest() {
        f = GatewayFixture.start(l -> l.headerTimeout(Duration.ofMillis(300)));
        try (RawHttp raw = RawHttp.connect(f.gateway.port())) {
            assertThat(raw.get("/healthz").status()).isEqualTo(200);
            // a slow client that starts after the first request ended is cut by the header timeout: by
            // then the first request's header clock would have run out too, had it not stopped with
            // its headers (an event proves the time passed; no sleep)
            try (RawHttp slow = RawHttp.connect(f.gateway.port())) {
                slow.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1");
                assertThat(slow.readResponse().status()).isEqualTo(408);
            }
            assertThat(raw.get("/healthz").status()).isEqualTo(200);
        }
        // the slow client's, not the kept-alive one's (counted once the gateway let go of the connection)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(f.rejections("header_timeout")).isEqualTo(1));
    }

    @Test
    void keptAliveConnectionThatSendsNothingIsClosedAfterTheIdleTimeoutButAStreamIsNot() {
        f = GatewayFixture.start(l -> l.idleTimeout(Duration.ofMillis(400)).keepAliveInterval(Duration.ofMillis(100)));
        try (RawHttp idle = RawHttp.connect(f.gateway.port());
             SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/idle/events"))) {
            assertThat(idle.get("/healthz").status()).isEqualTo(200);
            long answered = System.nanoTime();

            assertThat(idle.closedByPeer()).isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - answered)).as("not closed before the idle timeout")
                    .isGreaterThanOrEqualTo(Duration.ofMillis(350));
            // the stream, open as long as the idle connection lived, outlives it: streaming is not idle
            for (int i = 0; i < 6; i++) { // six keepalives: 600 ms of a stream that reads no request
                assertThat(sse.commentArrives()).isTrue();
            }
            f.post("/v1/streams/idle/messages", "still here");
            assertThat(sse.next().data()).isEqualTo("still here");
        }
    }

    @Test
    void connectionsBeyondTheMaximumAre503AndClosed() {
        f = GatewayFixture.start(l -> l.maxConnections(2));
        try (RawHttp a = RawHttp.connect(f.gateway.port()); RawHttp b = RawHttp.connect(f.gateway.port())) {
            assertThat(a.get("/healthz").status()).isEqualTo(200);
            assertThat(b.get("/healthz").status()).isEqualTo(200);
            try (RawHttp c = RawHttp.connect(f.gateway.port())) {
                RawHttp.Response r = c.readResponse();
                assertThat(r.status()).isEqualTo(503);
                assertThat(r.body()).contains("TOO_MANY_CONNECTIONS");
                assertThat(c.closedByPeer()).isTrue();
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> f.get("/healthz").statusCode() == 200);
        assertThat(f.rejections("too_many_connections")).isEqualTo(1);
    }

    @Test
    void slowSseReaderIsCutWithTheSequenceToResumeFromAndNothingStaysBuffered() {
        int limit = 64 * 1024;
        f = GatewayFixture.start(l -> l.subscriberBufferBytes(limit));
        try (RawHttp reader = RawHttp.connect(f.gateway.port(), "127.0.0.1", 4096)) {
            reader.write("GET /v1/streams/big/events?from=beginning HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            assertThat(reader.readLine()).startsWith("HTTP/1.1 200");
            reader.readHeaders();
            // the reader stops reading; the stream grows by far more than the socket buffers and the limit hold
            byte[] payload = "x".repeat(16 * 1024).getBytes();
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                batch.add(payload);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                f.client.publishBatch("big", batch).join();
                return f.rejections("slow_consumer") == 1;
            });
            assertThat(f.registry.get("wirebus.gateway.buffered.bytes").gauge().value()).isZero();

            String body = reader.readChunkedToEnd();

            List<SseEvents.Event> events = parse(body);
            SseEvents.Event last = events.get(events.size() - 1);
            assertThat(last.event()).isEqualTo("wirebus-error");
            JsonNode error = GatewayFixture.JSON.readTree(last.data());
            assertThat(error.get("code").asText()).isEqualTo("SLOW_CONSUMER");
            List<SseEvents.Event> messages = events.subList(0, events.size() - 1);
            for (int i = 0; i < messages.size(); i++) {
                assertThat(messages.get(i).id()).isEqualTo(Long.toString(i + 1));
            }
            assertThat(error.get("resume_from").asLong()).isEqualTo(messages.size() + 1L);
            assertThat(reader.closedByPeer()).isTrue();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        await().atMost(Duration.ofSeconds(10)).until(() ->
                f.registry.get("wirebus.gateway.subscribers").tag("transport", "sse").gauge().value() == 0);
    }

    private static List<SseEvents.Event> parse(String body) {
        List<SseEvents.Event> events = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            String id = null;
            String type = null;
            StringBuilder data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = data == null ? new StringBuilder(line.substring(6)) : data.append('\n').append(line.substring(6));
                }
            }
            if (data != null) {
                events.add(new SseEvents.Event(id, type, data.toString()));
            }
        }
        return events;
    }
}
