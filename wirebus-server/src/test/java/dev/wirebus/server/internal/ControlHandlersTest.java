package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ControlHandlersTest {
    @Test
    void pingIsAnsweredWithPong() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Ping(9));
            assertThat(c.next()).isEqualTo(new Frame.Pong(9));
        }
    }

    @Test
    void pongAndOkNeedNoAnswer() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Pong(9), new Frame.Ok(10));
            assertThat(c.next()).isNull();
            assertThat(c.channel.isActive()).isTrue();
        }
    }

    @Test
    void aSecondHelloClosesTheConnection() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Hello(9, 1, 2, "again"));
            assertThat(c.nextError(9, ErrorCode.HANDSHAKE_REQUIRED).message()).isEqualTo("HELLO sent twice");
            assertThat(c.channel.isActive()).isFalse();
        }
    }

    @Test
    void aFrameOnlyBrokersSendClosesTheConnection() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.PublishAck(9, 1, 1));
            assertThat(c.nextError(9, ErrorCode.MALFORMED_FRAME).message())
                    .isEqualTo("PUBLISH_ACK frames are sent by brokers, not clients");
            assertThat(c.channel.isActive()).isFalse();
        }
    }

    @Test
    void anAnsweredFrameWithRequestIdZeroClosesTheConnection() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.send(new Frame.Ping(0));
            c.nextError(0, ErrorCode.INVALID_ARGUMENT);
            assertThat(c.channel.isActive()).isFalse();
        }
    }
}
