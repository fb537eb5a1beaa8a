package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;

/**
 * Frames about the connection itself: PING is answered with PONG; PONG and OK need nothing; a
 * second HELLO, or a frame only brokers send, is a protocol violation that closes the connection.
 */
final class ControlHandlers {
    private ControlHandlers() {
    }

    static void ping(ConnectionHandler c, Frame.Ping f) {
        c.channel().write(new Frame.Pong(f.requestId()));
    }

    static void ignore(ConnectionHandler c, Frame f) {
    }

    static void helloAgain(ConnectionHandler c, Frame f) {
        c.closeWithError(f.requestId(), ErrorCode.HANDSHAKE_REQUIRED, "HELLO sent twice");
    }

    static void brokerFrame(ConnectionHandler c, Frame f) {
        c.closeWithError(f.requestId(), ErrorCode.MALFORMED_FRAME, f.type() + " frames are sent by brokers, not clients");
    }
}
