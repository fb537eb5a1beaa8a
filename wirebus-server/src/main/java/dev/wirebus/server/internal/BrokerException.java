package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;

/** A request the broker refuses, with the wire error code to answer it with. */
public final class BrokerException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode code;
    private final ErrorFields fields;

    public BrokerException(ErrorCode code, String message) {
        this(code, message, ErrorFields.NONE);
    }

    /** With the typed fields a version 2 ERROR carries (e.g. the last sequence of a SEQUENCE_MISMATCH). */
    public BrokerException(ErrorCode code, String message, ErrorFields fields) {
        super(message, null, false, false);
        this.code = code;
        this.fields = fields;
    }

    public ErrorFields fields() {
        return fields;
    }

    public ErrorCode code() {
        return code;
    }
}
