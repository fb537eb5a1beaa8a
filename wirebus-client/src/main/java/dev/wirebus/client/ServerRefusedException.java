package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * The broker understood the request and refused it; {@link #errorCode()} says why (for example
 * {@link ErrorCode#NO_RESPONDERS}, {@link ErrorCode#SEQUENCE_NOT_RETAINED},
 * {@link ErrorCode#RESPONDER_GONE}, {@link ErrorCode#SHUTTING_DOWN}).
 *
 * <pre>{@code
 * catch (ServerRefusedException e) { if (e.errorCode() == ErrorCode.NO_RESPONDERS) retryLater(); }
 * }</pre>
 */
public class ServerRefusedException extends WirebusException {
    private static final long serialVersionUID = 1L;

    public ServerRefusedException(ErrorCode code, String message) {
        super(code, message);
    }
}
