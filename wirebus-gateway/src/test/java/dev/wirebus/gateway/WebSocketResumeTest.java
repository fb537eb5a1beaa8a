package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.gateway.internal.DemoTokenProducer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The "chunk 7" scenario: a browser follows a token stream over the WebSocket, its connection is
 * cut in the middle, and it takes two seconds to come back while tokens keep streaming. It resumes
 * from the sequence after the last one it received and ends with every chunk once, in order.
 */
@Timeout(60)
class WebSocketResumeTest {
    private static final int CHUNKS = 150;

    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    /** A client that, like wirebus.js, resubscribes at lastSeq + 1 after each reconnect, but keeps every frame it gets. */
    private final class ResumingClient {
        final List<Long> sequences = new CopyOnWriteArrayList<>();
        final StringBuilder text = new StringBuilder();
        final AtomicLong lastSeq = new AtomicLong();
        final AtomicReference<WsClient> socket = new AtomicReference<>();
        final AtomicInteger connections = new AtomicInteger();

        void connect() {
            WsClient ws = WsClient.connect(f, this::onFrame);
            connections.incrementAndGet();
            socket.set(ws);
            long from = lastSeq.get() + 1;
            ws.send("{\"op\":\"subscribe\",\"id\":\"s" + connections.get() + "\",\"stream\":\"tokens\",\"from\":" + from + "}");
        }

        private synchronized void onFrame(JsonNode frame) {
            if (frame.get("type").asText().equals("message")) {
                long seq = frame.get("seq").asLong();
                sequences.add(seq);
                text.append(frame.get("data").asText());
                lastSeq.set(seq);
            }
        }

        /** Cuts the connection and comes back after {@code delay}. */
        CompletableFuture<Void> dropAndReconnectAfter(Duration delay) {
            socket.get().abort();
            return CompletableFuture.runAsync(this::connect,
                    CompletableFuture.delayedExecutor(delay.toMillis(), TimeUnit.MILLISECONDS));
        }
    }

    @Test
    void everyChunkArrivesOnceInOrderAcrossForcedDisconnectsWhileTokensStream() {
        f = GatewayFixture.start();
        ResumingClient browser = new ResumingClient();
        browser.connect();
        var started = f.post("/v1/demo/streams/tokens/tokens?count=" + CHUNKS + "&interval_ms=20", "");
        assertThat(started.statusCode()).isEqualTo(202);
        assertThat(GatewayFixture.json(started).get("first_seq").asLong()).isEqualTo(1);

        await().atMost(Duration.ofSeconds(10)).until(() -> browser.lastSeq.get() >= 7);
        // chunk 7 is on screen: the connection drops, and the page needs two seconds to set up again
        browser.dropAndReconnectAfter(Duration.ofSeconds(2)).join();
        await().atMost(Duration.ofSeconds(10)).until(() -> browser.lastSeq.get() >= 110);
        browser.dropAndReconnectAfter(Duration.ofMillis(50)).join();

        await().atMost(Duration.ofSeconds(20)).until(() -> browser.sequences.size() >= CHUNKS);
        assertThat(browser.sequences).hasSize(CHUNKS);
        for (int i = 0; i < CHUNKS; i++) {
            assertThat(browser.sequences.get(i)).isEqualTo(i + 1L);
        }
        StringBuilder expected = new StringBuilder();
        for (int n = 1; n <= CHUNKS; n++) {
            expected.append(new String(DemoTokenProducer.chunk(n), StandardCharsets.UTF_8));
        }
        assertThat(browser.text.toString()).isEqualTo(expected.toString());
        assertThat(browser.connections.get()).isEqualTo(3);
        browser.socket.get().close();
    }
}
