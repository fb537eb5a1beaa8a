package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class FetchHandlerTest {
    @Test
    void fetchReadsFromAPositionUpToTheMaximum() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            for (String p : new String[]{"a", "b", "c", "d"}) {
                c.publish("orders", p);
            }
            c.send(new Frame.Fetch(10, "orders", 2, 2));
            Frame.Fetched f = c.next(Frame.Fetched.class);
            assertThat(f.requestId()).isEqualTo(10);
            assertThat(f.lastSequence()).isEqualTo(4);
            assertThat(f.firstSequence()).isEqualTo(2);
            assertThat(f.records().count()).isEqualTo(2);
            assertThat(new String(f.records().payload(0))).isEqualTo("b");
            assertThat(new String(f.records().payload(1))).isEqualTo("c");
        }
    }

    @Test
    void anUnknownStreamFetchesNothingAtSequenceZero() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Fetch(10, "nothing", 1, 10));
            Frame.Fetched f = c.next(Frame.Fetched.class);
            assertThat(f.lastSequence()).isZero();
            assertThat(f.records().count()).isZero();
            assertThat(c.broker.streams().get("nothing")).isNull();
        }
    }

    @Test
    void aPositionBelowOneIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Fetch(10, "orders", 0, 10));
            c.nextError(10, ErrorCode.INVALID_ARGUMENT);
        }
    }
}
