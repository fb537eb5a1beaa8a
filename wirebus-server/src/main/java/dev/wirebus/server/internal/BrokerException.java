package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;

/** A request the broker refuses, with the wire error code to answer it with. */
public final class BrokerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;

    public BrokerException(ErrorCode code, String message) {
        super(message, null, false, false);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
