package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * Root of every wirebus client exception. Unchecked; {@link #errorCode()} is the wire error code
 * when the broker sent one, or what the client observed otherwise.
 *
 * <pre>{@code
 * try { client.publish("blocks", bytes).join(); }
 * catch (CompletionException e) {
 *     if (e.getCause() instanceof WirebusException w && w.errorCode() == ErrorCode.SEQUENCE_MISMATCH) { ... }
 * }
 * }</pre>
 *
 * @see ConnectionException
 * @see WirebusTimeoutException
 * @see ProtocolViolationException
 * @see ServerRefusedException
 * @see BackpressureException
 */
public class WirebusException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    public WirebusException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode;
    }

    public WirebusException(ErrorCode errorCode, String message, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
    }

    /** The wire error code ({@link ErrorCode#UNKNOWN} when none applies). */
    public ErrorCode errorCode() {
        return errorCode;
    }
}
