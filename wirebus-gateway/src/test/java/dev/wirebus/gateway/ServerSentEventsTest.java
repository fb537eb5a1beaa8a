package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

@Timeout(30)
class ServerSentEventsTest {
    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void eventsCarryTheSequenceAsIdAfterARetryHint() {
        f = GatewayFixture.start();
        for (String s : new String[] {"a", "b", "c"}) {
            f.post("/v1/streams/chat/messages", s);
        }

        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/chat/events?from=beginning"))) {
            assertThat(sse.response.statusCode()).isEqualTo(200);
            assertThat(sse.response.headers().firstValue("content-type")).hasValueSatisfying(
                    ct -> assertThat(ct).startsWith("text/event-stream"));
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("1", null, "a"));
            assertThat(sse.retry).isEqualTo("1000");
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("2", null, "b"));
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("3", null, "c"));
        }
    }

    @Test
    void lastEventIdResumesAfterItAndWinsOverFrom() {
        f = GatewayFixture.start();
        for (int i = 1; i <= 5; i++) {
            f.post("/v1/streams/chat/messages", "m" + i);
        }

        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/chat/events?from=beginning"),
                "Last-Event-ID", "3")) {
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("4", null, "m4"));
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("5", null, "m5"));
            f.post("/v1/streams/chat/messages", "m6");
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("6", null, "m6"));
        }
    }

    @Test
    void defaultStartIsTheEndSoOnlyNewMessagesArrive() {
        f = GatewayFixture.start();
        f.post("/v1/streams/chat/messages", "old");

        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/chat/events"))) {
            // the head arrives once the broker confirmed the subscription: a publish now is live
            f.post("/v1/streams/chat/messages", "new");
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("2", null, "new"));
        }
    }

    @Test
    void multiLinePayloadBecomesOneEventOfSeveralDataLines() {
        f = GatewayFixture.start();
        f.post("/v1/streams/chat/messages", "line one\nline two\r\nline three");

        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/chat/events?from=1"))) {
            assertThat(sse.next().data()).isEqualTo("line one\nline two\nline three");
        }
    }

    @Test
    void idleStreamGetsKeepaliveComments() {
        f = GatewayFixture.start(l -> l.keepAliveInterval(Duration.ofMillis(100)));

        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/quiet/events"))) {
            assertThat(sse.commentArrives()).isTrue();
            assertThat(sse.comments).contains(": keepalive");
        }
    }

    @Test
    void startBelowRetentionIs410WithWhereToResume() {
        f = GatewayFixture.start(l -> { }, b -> b.retentionMessages(3));
        for (int i = 1; i <= 10; i++) {
            f.post("/v1/streams/short/messages", "m" + i);
        }

        HttpResponse<String> r = f.get("/v1/streams/short/events?from=1");

        assertThat(r.statusCode()).isEqualTo(410);
        JsonNode error = GatewayFixture.json(r).get("error");
        assertThat(error.get("code").asText()).isEqualTo("SEQUENCE_NOT_RETAINED");
        assertThat(error.get("resume_from").asLong()).isBetween(2L, 8L);
    }

    @Test
    void subscriberGaugeCountsOpenStreamsAndDropsWhenTheClientLeaves() {
        f = GatewayFixture.start();
        SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/watched/events"));
        assertThat(GatewayFixture.json(f.get("/v1/streams/watched")).get("subscribers").asInt()).isEqualTo(1);

        sse.close();

        await().atMost(Duration.ofSeconds(10)).until(() ->
                GatewayFixture.json(f.get("/v1/streams/watched")).get("subscribers").asInt() == 0);
    }

    @Test
    @Timeout(value = 15, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a missing id blocks the read
    void fromEndSetsTheLastEventIdBeforeAnyEventSoAReconnectMissesNothing() {
        f = GatewayFixture.start();
        for (int i = 1; i <= 5; i++) {
            f.post("/v1/streams/chat/messages", "m" + i);
        }
        String lastEventId;
        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/chat/events"))) {
            lastEventId = sse.awaitLastEventId();
            assertThat(sse.retry).isEqualTo("1000");
        }
        assertThat(lastEventId).isEqualTo("5");
        // the connection dropped before any event; messages published meanwhile are not lost
        f.post("/v1/streams/chat/messages", "m6");
        f.post("/v1/streams/chat/messages", "m7");
        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/chat/events"), "Last-Event-ID", lastEventId)) {
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("6", null, "m6"));
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("7", null, "m7"));
        }
    }

    @Test
    @Timeout(value = 15, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a missing id blocks the read
    void fromEndOfAnEmptyStreamSetsLastEventIdZeroWhichResumesAtTheFirstMessage() {
        f = GatewayFixture.start();
        String lastEventId;
        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/fresh/events"))) {
            lastEventId = sse.awaitLastEventId();
        }
        assertThat(lastEventId).isEqualTo("0");
        f.post("/v1/streams/fresh/messages", "first");
        try (SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/fresh/events"), "Last-Event-ID", lastEventId)) {
            assertThat(sse.next()).isEqualTo(new SseEvents.Event("1", null, "first"));
        }
    }
}
