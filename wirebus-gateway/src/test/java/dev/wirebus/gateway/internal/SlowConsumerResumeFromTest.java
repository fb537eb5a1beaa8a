package dev.wirebus.gateway.internal;

import dev.wirebus.client.StartPosition;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Where a WebSocket subscription cut by SLOW_CONSUMER tells the client to resume. */
class SlowConsumerResumeFromTest {
    @Test
    void aConfirmedSubscriptionResumesAtTheFirstSequenceNotWritten() {
        assertThat(WebSocketSession.resumeFrom(true, 42, StartPosition.latest())).isEqualTo(42);
    }

    @Test
    void anUnconfirmedSubscriptionResumesWhereItAskedToStartNeverAtZero() {
        assertThat(WebSocketSession.resumeFrom(false, 0, StartPosition.sequence(7))).isEqualTo(7);
        assertThat(WebSocketSession.resumeFrom(false, 0, StartPosition.latest())).as("omitted").isZero();
        assertThat(WebSocketSession.resumeFrom(false, 0, StartPosition.earliest())).as("omitted").isZero();
    }
}
