package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * One side broke the protocol (a malformed frame, an unknown frame type, a failed handshake). The
 * connection is closed.
 *
 * <pre>{@code
 * catch (ProtocolViolationException e) { log.error("wire error {}: {}", e.errorCode(), e.getMessage()); }
 * }</pre>
 */
public class ProtocolViolationException extends WirebusException {
    private static final long serialVersionUID = 1L;

    public ProtocolViolationException(ErrorCode code, String message) {
        super(code, message);
    }
}
