package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PublishHandlerTest {
    private static final long ANY = Frame.NO_EXPECTED_SEQUENCE;

    @Test
    void publishesAreAcknowledgedInOrderWithTheirSequences() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Publish(11, "orders", ANY, "a".getBytes()),
                    new Frame.PublishBatch(12, "orders", ANY, RecordBatch.of(List.of("b".getBytes(), "c".getBytes()))),
                    new Frame.Publish(13, "orders", ANY, "d".getBytes()));
            assertThat(c.drain()).containsExactly(new Frame.PublishAck(11, 1, 1), new Frame.PublishAck(12, 2, 2),
                    new Frame.PublishAck(13, 4, 1));
            assertThat(c.broker.streams().get("orders").lastSequence()).isEqualTo(4);
        }
    }

    @Test
    void aWrongExpectedSequenceIsRefusedNamingTheLastSequence() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.publish("orders", "a");
            c.send(new Frame.Publish(20, "orders", 5, "b".getBytes()));
            Frame.Error e = c.nextError(20, ErrorCode.SEQUENCE_MISMATCH);
            assertThat(e.fields().get(ErrorFields.LAST_SEQUENCE)).hasValue(1L);
            c.send(new Frame.Publish(21, "orders", 2, "b".getBytes()));
            assertThat(c.next(Frame.PublishAck.class).firstSequence()).isEqualTo(2);
        }
    }

    @Test
    void anEmptyBatchIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.PublishBatch(30, "orders", ANY, RecordBatch.empty()));
            c.nextError(30, ErrorCode.INVALID_ARGUMENT);
            c.send(new Frame.PublishIdempotent(31, "orders", ANY, "p1", 1, RecordBatch.empty()));
            c.nextError(31, ErrorCode.INVALID_ARGUMENT);
            assertThat(c.broker.streams().get("orders")).isNull();
        }
    }

    @Test
    void aMessageOverTheMaximumIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open(b -> b.maxMessageBytes(4))) {
            c.send(new Frame.Publish(40, "orders", ANY, "12345".getBytes()));
            assertThat(c.nextError(40, ErrorCode.MESSAGE_TOO_LARGE).message())
                    .isEqualTo("message of 5 bytes exceeds the maximum 4");
            c.send(new Frame.Publish(41, "orders", ANY, "1234".getBytes()));
            c.next(Frame.PublishAck.class);
        }
    }

    @Test
    void anIdempotentProducersRepeatIsAnsweredAsDuplicateWithTheOriginalSequences() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            RecordBatch two = RecordBatch.of(List.of("a".getBytes(), "b".getBytes()));
            c.send(new Frame.PublishIdempotent(50, "orders", ANY, "p1", 1, two));
            assertThat(c.next(Frame.PublishAck.class)).isEqualTo(new Frame.PublishAck(50, 1, 2));
            c.send(new Frame.PublishIdempotent(51, "orders", ANY, "p1", 1, two));
            assertThat(c.next(Frame.PublishAck.class)).isEqualTo(new Frame.PublishAck(51, 1, 2, true));
            assertThat(c.broker.streams().get("orders").lastSequence()).isEqualTo(2);
        }
    }

    @Test
    void aProducerSequenceBelowOneIsRefused() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.PublishIdempotent(60, "orders", ANY, "p1", 0, RecordBatch.of("a".getBytes())));
            assertThat(c.nextError(60, ErrorCode.INVALID_ARGUMENT).message())
                    .isEqualTo("producer sequence must be at least 1, was 0");
        }
    }

    @Test
    void publishesAreRefusedWhileTheBrokerShutsDown() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.broker.beginShutdown();
            c.send(new Frame.Publish(70, "orders", ANY, "a".getBytes()));
            c.nextError(70, ErrorCode.SHUTTING_DOWN);
        }
    }
}
