package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

@org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class HttpPublishTest {
    private GatewayFixture f;

    @BeforeEach
    void start() {
        f = GatewayFixture.start();
    }

    @AfterEach
    void stop() {
        f.close();
    }

    @Test
    void publishAnswersTheSequenceAndTheMessageIsInTheStream() {
        HttpResponse<String> first = f.post("/v1/streams/chat/messages", "hello");
        HttpResponse<String> second = f.post("/v1/streams/chat/messages", "world");

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(GatewayFixture.json(first).get("seq").asLong()).isEqualTo(1);
        assertThat(GatewayFixture.json(first).get("stream").asText()).isEqualTo("chat");
        assertThat(GatewayFixture.json(second).get("seq").asLong()).isEqualTo(2);
        List<String> got = new ArrayList<>();
        java.util.concurrent.CountDownLatch two = new java.util.concurrent.CountDownLatch(2);
        try (var sub = f.client.subscribe("chat", dev.wirebus.client.StartPosition.sequence(1), m -> {
            got.add(m.payloadAsString());
            two.countDown();
        })) {
            org.awaitility.Awaitility.await().until(() -> two.getCount() == 0);
        }
        assertThat(got).containsExactly("hello", "world");
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrderBeyondTheNumberHeldAtOnce() {
        int n = 50; // more than the handler holds before it stops reading the socket
        StringBuilder all = new StringBuilder();
        for (int i = 1; i <= n; i++) {
            String body = "p" + i;
            all.append("POST /v1/streams/piped/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ")
                    .append(body.length()).append("\r\n\r\n").append(body);
            if (i % 10 == 0) {
                all.append("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            }
        }
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write(all.toString()); // all at once: the requests arrive together
            for (int i = 1; i <= n; i++) {
                RawHttp.Response r = c.readResponse();
                assertThat(r.status()).as("answer %d", i).isEqualTo(200);
                assertThat(GatewayFixture.JSON.readTree(r.body()).get("seq").asLong()).as("answer %d", i).isEqualTo(i);
                if (i % 10 == 0) {
                    RawHttp.Response health = c.readResponse();
                    assertThat(health.status()).isEqualTo(200);
                    assertThat(health.body()).as("the health check after publish %d", i).doesNotContain("\"seq\"");
                }
            }
            // and the connection still serves what comes next
            assertThat(c.get("/v1/streams/piped").status()).isEqualTo(200);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        List<String> got = new ArrayList<>();
        for (var m : f.client.fetch("piped", 1, n).join().messages()) {
            got.add(m.payloadAsString());
        }
        assertThat(got).containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, n).mapToObj(i -> "p" + i).toList());
    }

    @Test
    void aPublishAskingToCloseIsAnsweredWithConnectionCloseAndTheConnectionEnds() throws Exception {
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write("POST /v1/streams/closing/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    + "Content-Length: 3\r\n\r\nbye");
            RawHttp.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers()).containsEntry("connection", "close").containsEntry("content-type", "application/json")
                    .containsEntry("content-length", Integer.toString(r.body().length()));
            assertThat(GatewayFixture.JSON.readTree(r.body()).get("seq").asLong()).isEqualTo(1);
            assertThat(c.closedByPeer()).isTrue();
        }
        // an HTTP/1.0 client without keep-alive is answered and closed the same way
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write("POST /v1/streams/closing/messages HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
            RawHttp.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("{\"stream\":\"closing\",\"seq\":2}");
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    @Test
    void batchLandsAtConsecutiveSequences() {
        f.post("/v1/streams/tx/messages", "first");
        HttpResponse<String> r = f.post("/v1/streams/tx/batch",
                "{\"messages\":[\"a\",{\"base64\":\"" + java.util.Base64.getEncoder()
                        .encodeToString("b".getBytes(StandardCharsets.UTF_8)) + "\"},\"c\"]}");

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = GatewayFixture.json(r);
        assertThat(body.get("first_seq").asLong()).isEqualTo(2);
        assertThat(body.get("last_seq").asLong()).isEqualTo(4);
        assertThat(body.get("count").asInt()).isEqualTo(3);
    }

    @Test
    void expectedSequenceMismatchIs409WithTheLastSequence() {
        f.post("/v1/streams/blocks/messages", "b1");
        f.post("/v1/streams/blocks/messages", "b2");

        HttpResponse<String> ok = f.post("/v1/streams/blocks/messages", "b3", "Wirebus-Expected-Sequence", "3");
        HttpResponse<String> stale = f.post("/v1/streams/blocks/messages", "b3 again", "Wirebus-Expected-Sequence", "3");

        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(GatewayFixture.json(ok).get("seq").asLong()).isEqualTo(3);
        assertThat(stale.statusCode()).isEqualTo(409);
        JsonNode error = GatewayFixture.json(stale).get("error");
        assertThat(error.get("code").asText()).isEqualTo("SEQUENCE_MISMATCH");
        assertThat(error.get("last_seq").asLong()).isEqualTo(3);
    }

    @Test
    void badBatchBodyIs400WithATypedError() {
        HttpResponse<String> r = f.post("/v1/streams/tx/batch", "{\"messages\": 5}");

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(GatewayFixture.json(r).get("error").get("code").asText()).isEqualTo("BAD_REQUEST");
    }

    @Test
    void unknownPathIs404AndWrongMethodIs405() {
        assertThat(f.get("/v2/nothing/here/at/all").statusCode()).isEqualTo(404);
        assertThat(GatewayFixture.json(f.get("/v2/nothing/here/at/all")).get("error").get("code").asText())
                .isEqualTo("NOT_FOUND");
        assertThat(f.post("/healthz", "").statusCode()).isEqualTo(405);
    }

    @Test
    void streamInfoReportsTheLastSequence() {
        f.post("/v1/streams/info/messages", "x");
        f.post("/v1/streams/info/messages", "y");

        HttpResponse<String> r = f.get("/v1/streams/info");

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = GatewayFixture.json(r);
        assertThat(body.get("last_seq").asLong()).isEqualTo(2);
        assertThat(body.get("subscribers").asInt()).isZero();
        assertThat(body.get("consumers").isArray()).isTrue();
    }

    @Test
    void requestIsAnsweredWithTheRespondersReply() {
        f.client.respond("quote", req -> ("re:" + req.payloadAsString()).getBytes(StandardCharsets.UTF_8)).join();

        HttpResponse<String> r = f.post("/v1/requests/quote", "ACME");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("re:ACME");
    }

    @Test
    void requestWithoutResponderIs503NoResponders() {
        HttpResponse<String> r = f.post("/v1/requests/nobody", "x");

        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(GatewayFixture.json(r).get("error").get("code").asText()).isEqualTo("NO_RESPONDERS");
        assertThat(r.headers().firstValue("Retry-After")).isPresent();
    }

    @Test
    void producerRetryAnswersTheOriginalSequenceAsDuplicate() {
        f.post("/v1/streams/orders/messages", "other");
        HttpResponse<String> first = f.post("/v1/streams/orders/messages", "order 42",
                "Wirebus-Producer-Id", "p1", "Wirebus-Producer-Sequence", "42");
        HttpResponse<String> retry = f.post("/v1/streams/orders/messages", "order 42",
                "Wirebus-Producer-Id", "p1", "Wirebus-Producer-Sequence", "42");

        assertThat(GatewayFixture.json(first).get("seq").asLong()).isEqualTo(2);
        assertThat(GatewayFixture.json(first).has("duplicate")).isFalse();
        assertThat(retry.statusCode()).isEqualTo(200);
        assertThat(GatewayFixture.json(retry).get("seq").asLong()).isEqualTo(2);
        assertThat(GatewayFixture.json(retry).get("duplicate").asBoolean()).isTrue();
        assertThat(GatewayFixture.json(f.get("/v1/streams/orders")).get("last_seq").asLong()).isEqualTo(2);
    }

    @Test
    void readReturnsAPageWithTheNextSequence() {
        for (int i = 1; i <= 5; i++) {
            f.post("/v1/streams/log/messages", "m" + i);
        }

        HttpResponse<String> r = f.get("/v1/streams/log/messages?from=2&limit=3");

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = GatewayFixture.json(r);
        assertThat(body.get("messages")).hasSize(3);
        assertThat(body.get("messages").get(0).get("seq").asLong()).isEqualTo(2);
        assertThat(body.get("messages").get(0).get("data").asText()).isEqualTo("m2");
        assertThat(body.get("messages").get(2).get("data").asText()).isEqualTo("m4");
        assertThat(body.get("next").asLong()).isEqualTo(5);
        assertThat(body.get("last_seq").asLong()).isEqualTo(5);
    }

    @Test
    void readInBase64CarriesTheBytes() {
        f.post("/v1/streams/bin/messages", "\u00ff");

        JsonNode m = GatewayFixture.json(f.get("/v1/streams/bin/messages?encoding=base64")).get("messages").get(0);

        assertThat(java.util.Base64.getDecoder().decode(m.get("base64").asText()))
                .isEqualTo("\u00ff".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readLimitAboveTheMaximumIs400() {
        assertThat(f.get("/v1/streams/log/messages?limit=1001").statusCode()).isEqualTo(400);
    }

    @Test
    void badPercentEncodingInThePathIs400AndTheConnectionServesTheNextRequest() {
        String body = "y".repeat(200_000);
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write("POST /v1/streams/%zz/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + body.length()
                    + "\r\n\r\n" + body);
            RawHttp.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.body()).contains("\"code\":\"BAD_REQUEST\"");
            assertThat(c.get("/healthz").status()).isEqualTo(200);
        }
        assertThat(f.rejections("bad_request")).isEqualTo(1);
    }

    @Test
    void eachPathSegmentIsDecodedExactlyOnce() {
        // '%41' is no valid stream name; the broker's refusal names what the gateway asked for
        HttpResponse<String> r = f.post("/v1/streams/%2541/messages", "x");
        assertThat(r.statusCode()).as("not published to stream 'A'").isEqualTo(400);
        assertThat(GatewayFixture.json(r).at("/error/message").asText()).contains("'%41'");
        HttpResponse<String> ok = f.post("/v1/streams/a%2Db/messages", "x");
        assertThat(GatewayFixture.json(ok).get("stream").asText()).isEqualTo("a-b");
    }
}
