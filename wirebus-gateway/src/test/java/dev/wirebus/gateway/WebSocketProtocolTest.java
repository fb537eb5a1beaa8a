package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@Timeout(30)
class WebSocketProtocolTest {
    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void subscribedComesBeforeTheMessagesAndPublishIsAcked() {
        f = GatewayFixture.start();
        f.post("/v1/streams/chat/messages", "before");
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"c1\",\"stream\":\"chat\",\"from\":\"beginning\"}");
            JsonNode subscribed = ws.next();
            assertThat(subscribed.get("type").asText()).isEqualTo("subscribed");
            assertThat(subscribed.get("id").asText()).isEqualTo("c1");
            assertThat(subscribed.get("from").asLong()).isEqualTo(1);
            JsonNode first = ws.next();
            assertThat(first.get("type").asText()).isEqualTo("message");
            assertThat(first.get("id").asText()).as("a message names its subscribe").isEqualTo("c1");
            assertThat(first.get("seq").asLong()).isEqualTo(1);
            assertThat(first.get("data").asText()).isEqualTo("before");

            ws.send("{\"op\":\"publish\",\"id\":\"c2\",\"stream\":\"chat\",\"data\":\"hi\"}");
            List<JsonNode> two = List.of(ws.next(), ws.next());
            assertThat(two).anySatisfy(fr -> {
                assertThat(fr.get("type").asText()).isEqualTo("ack");
                assertThat(fr.get("id").asText()).isEqualTo("c2");
                assertThat(fr.get("seq").asLong()).isEqualTo(2);
            });
            assertThat(two).anySatisfy(fr -> {
                assertThat(fr.get("type").asText()).isEqualTo("message");
                assertThat(fr.get("data").asText()).isEqualTo("hi");
            });
        }
    }

    @Test
    void requestGetsTheReplyAndPingGetsPong() {
        f = GatewayFixture.start();
        f.client.respond("echo", r -> r.payload()).join();
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"request\",\"id\":\"r1\",\"subject\":\"echo\",\"data\":\"marco\",\"timeout_ms\":2000}");
            JsonNode reply = ws.next();
            assertThat(reply.get("type").asText()).isEqualTo("reply");
            assertThat(reply.get("id").asText()).isEqualTo("r1");
            assertThat(reply.get("data").asText()).isEqualTo("marco");

            ws.send("{\"op\":\"ping\",\"id\":\"p1\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("pong");
        }
    }

    @Test
    void badMessagesGetTypedErrorsAndTheConnectionStaysOpen() {
        f = GatewayFixture.start();
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("not json");
            JsonNode e1 = ws.next();
            assertThat(e1.get("type").asText()).isEqualTo("error");
            assertThat(e1.get("code").asText()).isEqualTo("BAD_REQUEST");

            ws.send("{\"op\":\"fly\",\"id\":\"x\"}");
            JsonNode e2 = ws.next();
            assertThat(e2.get("code").asText()).isEqualTo("BAD_REQUEST");
            assertThat(e2.get("id").asText()).isEqualTo("x");

            ws.send("{\"op\":\"unsubscribe\",\"id\":\"u\",\"stream\":\"none\"}");
            assertThat(ws.next().get("code").asText()).isEqualTo("UNKNOWN_SUBSCRIPTION");

            ws.send("{\"op\":\"ping\",\"id\":\"still-here\"}");
            assertThat(ws.next().get("id").asText()).isEqualTo("still-here");
        }
    }

    @Test
    void secondSubscribeToTheSameStreamIsRefusedAndUnsubscribeIsConfirmed() {
        f = GatewayFixture.start();
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"s\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            ws.send("{\"op\":\"subscribe\",\"id\":\"b\",\"stream\":\"s\"}");
            assertThat(ws.next().get("code").asText()).isEqualTo("DUPLICATE_SUBSCRIPTION");
            ws.send("{\"op\":\"unsubscribe\",\"id\":\"c\",\"stream\":\"s\"}");
            JsonNode u = ws.next();
            assertThat(u.get("type").asText()).isEqualTo("unsubscribed");
            assertThat(u.get("id").asText()).isEqualTo("c");
        }
    }

    @Test
    void subscribeToAStreamNameTheBrokerRefusesLeavesNoSubscriptionBehind() {
        f = GatewayFixture.start();
        try (WsClient ws = WsClient.connect(f)) {
            String tooLong = "x".repeat(70_000); // over the protocol's 65,535 bytes for a name
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"" + tooLong + "\"}");
            JsonNode refused = ws.next();
            assertThat(refused.get("code").asText()).isEqualTo("BAD_REQUEST");
            assertThat(refused.get("message").asText()).contains("name must be 1 to 65535");
            // nothing was left half-made: the same name is refused again the same way, not as a duplicate
            ws.send("{\"op\":\"subscribe\",\"id\":\"b\",\"stream\":\"" + tooLong + "\"}");
            assertThat(ws.next().get("code").asText()).isEqualTo("BAD_REQUEST");
            ws.send("{\"op\":\"subscribe\",\"id\":\"c\",\"stream\":\"fine\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            assertThat(f.registry.get("wirebus.gateway.subscribers").tag("transport", "ws").gauge().value())
                    .as("open WebSocket subscriptions").isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() ->
                f.registry.get("wirebus.gateway.subscribers").tag("transport", "ws").gauge().value() == 0);
    }

    @Test
    void publishWithAStaleExpectedSequenceGetsSequenceMismatch() {
        f = GatewayFixture.start();
        f.post("/v1/streams/b/messages", "one");
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"publish\",\"id\":\"p\",\"stream\":\"b\",\"data\":\"x\",\"expected_seq\":1}");
            JsonNode e = ws.next();
            assertThat(e.get("type").asText()).isEqualTo("error");
            assertThat(e.get("code").asText()).isEqualTo("SEQUENCE_MISMATCH");
            assertThat(e.get("last_seq").asLong()).isEqualTo(1);
        }
    }

    @Test
    void rateLimitAppliesPerMessageWithATypedErrorAndKeepsTheConnection() {
        f = GatewayFixture.start(l -> l.rateLimit(5, Duration.ofSeconds(1)));
        try (WsClient ws = WsClient.connect(f)) {
            for (int i = 0; i < 20; i++) {
                ws.send("{\"op\":\"ping\",\"id\":\"p" + i + "\"}");
            }
            List<JsonNode> answers = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                answers.add(ws.next());
            }
            assertThat(answers).filteredOn(a -> a.get("type").asText().equals("pong")).hasSizeBetween(4, 6);
            assertThat(answers).filteredOn(a -> a.get("type").asText().equals("error")).allSatisfy(a -> {
                assertThat(a.get("code").asText()).isEqualTo("RATE_LIMITED");
                assertThat(a.get("retry_after_ms").asLong()).isPositive();
            });
            // the bucket refills: the same connection is served again
            await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(250)).until(() -> {
                ws.send("{\"op\":\"ping\",\"id\":\"later\"}");
                return ws.next().get("type").asText().equals("pong");
            });
        }
    }

    @Test
    void base64EncodingCarriesBytes() {
        f = GatewayFixture.start();
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"bin\",\"encoding\":\"base64\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            f.client.publish("bin", new byte[] {0, (byte) 0xff, 7}).join();
            JsonNode m = ws.next();
            assertThat(java.util.Base64.getDecoder().decode(m.get("base64").asText()))
                    .containsExactly(0, (byte) 0xff, 7);
            assertThat(m.has("data")).isFalse();
        }
    }

    @Test
    void unsubscribeDropsTheSubscriptionsQueuedMessagesAndNoneFollowsItsAnswer() throws Exception {
        f = GatewayFixture.start(l -> l.subscriberBufferBytes(256 << 20));
        byte[] payload = new byte[32 * 1024];
        java.util.Arrays.fill(payload, (byte) 'x');
        List<java.util.concurrent.CompletableFuture<dev.wirebus.client.PublishAck>> acks = new ArrayList<>();
        for (int i = 0; i < 1500; i++) { // ~48 MiB: more than the socket buffers hold
            acks.add(f.client.publish("big", payload));
        }
        acks.forEach(java.util.concurrent.CompletableFuture::join);
        java.util.concurrent.CountDownLatch reading = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.BlockingQueue<JsonNode> frames = new java.util.concurrent.LinkedBlockingQueue<>();
        try (WsClient ws = WsClient.connect(f, frame -> {
            frames.add(frame);
            try {
                reading.await(); // the reader stalls, so the gateway queues for it
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        })) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"s1\",\"stream\":\"big\",\"from\":1}");
            await().atMost(Duration.ofSeconds(20)).until(() -> bufferedBytes() > 1 << 20);
            ws.send("{\"op\":\"unsubscribe\",\"id\":\"u1\",\"stream\":\"big\"}");
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(bufferedBytes()).as("queued messages of the subscription dropped, the answer queued").isLessThan(1024));
            reading.countDown();
            JsonNode frame;
            do {
                frame = frames.poll(20, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(frame).as("the unsubscribe is answered").isNotNull();
            } while (!frame.get("type").asText().equals("unsubscribed"));
            ws.send("{\"op\":\"ping\",\"id\":\"p\"}");
            JsonNode next = frames.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(next.get("type").asText()).as("nothing of the subscription after its end").isEqualTo("pong");
        }
    }

    private double bufferedBytes() {
        return f.registry.get("wirebus.gateway.buffered.bytes").gauge().value();
    }
}
