package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * The connection to the broker could not be made or was lost. A publish that fails with this
 * exception after it was sent has an unknown outcome: retry it with an expected sequence or a
 * check of the stream to avoid a duplicate.
 *
 * <pre>{@code
 * catch (ConnectionException e) { log.warn("broker unreachable: {}", e.getMessage()); }
 * }</pre>
 */
public class ConnectionException extends WirebusException {
    private static final long serialVersionUID = 1L;

    public ConnectionException(String message) {
        super(ErrorCode.UNKNOWN, message);
    }

    public ConnectionException(String message, Throwable cause) {
        super(ErrorCode.UNKNOWN, message, cause);
    }

    /** For subtypes that carry the broker's code (an AUTH refused closes the connection). */
    protected ConnectionException(ErrorCode code, String message) {
        super(code, message);
    }
}
