package dev.wirebus.client.internal;

import dev.wirebus.client.AuthenticationException;
import dev.wirebus.client.PermissionDeniedException;
import dev.wirebus.client.ProtocolViolationException;
import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.WirebusException;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;

/** Maps ERROR frames to the client's exception types. */
final class Errors {
    private Errors() {
    }

    static WirebusException of(Frame.Error e) {
        ErrorCode code = ErrorCode.of(e.code());
        return switch (code) {
            case TIMEOUT -> new WirebusTimeoutException(e.message());
            case SEQUENCE_MISMATCH -> new SequenceMismatchException(e.message(), e.fields());
            case AUTH_FAILED, AUTH_EXPIRED -> new AuthenticationException(code, e.message());
            case PERMISSION_DENIED -> new PermissionDeniedException(e.message(), e.fields());
            case MALFORMED_FRAME, FRAME_TOO_LARGE, UNKNOWN_FRAME_TYPE, UNSUPPORTED_VERSION, HANDSHAKE_REQUIRED ->
                    new ProtocolViolationException(code, e.message());
            default -> new ServerRefusedException(code, code == ErrorCode.UNKNOWN
                    ? "error code " + e.code() + ": " + e.message() : e.message(), e.fields());
        };
    }
}
