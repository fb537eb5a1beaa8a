package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * The call was not sent because a bounded queue or the in-flight limit was full and stayed full
 * until the call's deadline (or the caller asked not to wait).
 *
 * <pre>{@code
 * publisher.publish("tx", bytes).exceptionally(e -> { if (e.getCause() instanceof BackpressureException) shed(); return null; });
 * }</pre>
 */
public class BackpressureException extends WirebusException {
    private static final long serialVersionUID = 1L;

    public BackpressureException(String message) {
        super(ErrorCode.BACKPRESSURE, message);
    }
}
