package dev.wirebus.protocol;

/**
 * Numbered error codes carried by {@link Frame.Error}, {@link Frame.GoAway} and
 * {@link Frame.SubscriptionClosed} frames, and by the client's exceptions.
 *
 * <p>The numbers are part of the wire contract (see {@code docs/protocol.md}); a code this
 * version does not know decodes to {@link #UNKNOWN} so that older peers keep working.
 *
 * <pre>{@code
 * ErrorCode code = ErrorCode.of(frame.code());
 * if (code == ErrorCode.SEQUENCE_MISMATCH) { ... }
 * }</pre>
 */
public enum ErrorCode {
    /** A code this version of the protocol does not know. */
    UNKNOWN(0, false),
    /** The frame's bytes do not parse as its type says (truncated fields, bad strings, bad counts). */
    MALFORMED_FRAME(1, true),
    /** The frame's length prefix exceeds the maximum frame length announced in the handshake. */
    FRAME_TOO_LARGE(2, true),
    /** The frame type byte names no frame this peer knows. */
    UNKNOWN_FRAME_TYPE(3, true),
    /** The peers share no protocol version. */
    UNSUPPORTED_VERSION(4, true),
    /** A frame other than HELLO arrived before the handshake completed, or HELLO came twice. */
    HANDSHAKE_REQUIRED(5, true),
    /** A field is well-formed but its value is not acceptable (a bad stream name, a zero request timeout…). */
    INVALID_ARGUMENT(6, false),
    /** A publish carried an expected sequence that is not the stream's last sequence + 1. */
    SEQUENCE_MISMATCH(10, false),
    /** A subscription asked for a sequence below the first one the stream still retains. */
    SEQUENCE_NOT_RETAINED(11, false),
    /**
     * An UNSUBSCRIBE, or an ACK asking for confirmation, named a subscription id that is not open on
     * this connection (a CREDIT for one is ignored: it may cross the subscription's end).
     */
    UNKNOWN_SUBSCRIPTION(12, false),
    /** A SUBSCRIBE reused a subscription id that is still open on this connection. */
    DUPLICATE_SUBSCRIPTION(13, false),
    /** A single message is larger than the broker accepts. */
    MESSAGE_TOO_LARGE(14, false),
    /**
     * An idempotent publish carried a producer sequence that is not above the producer's last
     * appended one and is not a batch the broker remembers appending: out of order, or too old to
     * answer with its stream sequences. Nothing was appended.
     */
    PRODUCER_SEQUENCE(15, false),
    /** A request named a subject that has no registered responder. */
    NO_RESPONDERS(20, false),
    /** A request's deadline passed before its response arrived. */
    TIMEOUT(21, false),
    /** The responder handling a request disconnected before answering. */
    RESPONDER_GONE(22, false),
    /** The responder answered the request with an error. */
    RESPONDER_FAILED(23, false),
    /** The broker is shutting down and takes no new work. */
    SHUTTING_DOWN(30, false),
    /** An unexpected failure inside the broker; the message says what. */
    INTERNAL(31, false),
    /** The broker cannot accept more work from this connection right now. */
    BACKPRESSURE(32, false),
    /** The connection is not allowed to do what it asked. */
    PERMISSION_DENIED(33, false),
    /** The broker holds as many streams as it is configured to; the publish that would create one more is refused. */
    STREAM_LIMIT(34, false),
    /** Too many connections, in all or from this peer (uid on a Unix socket, IP on TCP); sent at accept. */
    CONNECTION_LIMIT(35, true),
    /** The connection left more unread output at the broker than its budget allows, for longer than the deadline. */
    SLOW_CONSUMER(36, true),
    /** A frame did not complete within the read deadline, or the connection was idle past the idle timeout. */
    READ_TIMEOUT(37, true),
    /**
     * The stream's history is not the one a client may have read: recovery cut records that had been
     * acknowledged. Resuming by sequence is refused; the message names the stream and the new epoch.
     */
    STORE_CHANGED(38, false),
    /** The named stream (or consumer) does not exist. */
    NOT_FOUND(39, false),
    /**
     * The credential in AUTH was refused: unknown token, bad signature, expired or not yet valid,
     * wrong audience, or an unsupported mechanism. Closes the connection.
     */
    AUTH_FAILED(40, true),
    /**
     * The connection's credential expired and no fresh AUTH replaced it; sent with request id 0.
     * Closes the connection.
     */
    AUTH_EXPIRED(41, true),
    /**
     * The store behind the stream cannot be reached (for example Redis is down or failing over):
     * nothing was done; retry later, possibly on another node.
     */
    UNAVAILABLE(42, false);

    private static final ErrorCode[] BY_CODE = new ErrorCode[64];

    static {
        for (ErrorCode c : values()) {
            BY_CODE[c.code] = c;
        }
    }

    private final int code;
    private final boolean closesConnection;

    ErrorCode(int code, boolean closesConnection) {
        this.code = code;
        this.closesConnection = closesConnection;
    }

    /** The number sent on the wire. */
    public int code() {
        return code;
    }

    /** Whether the broker closes the connection after sending an error with this code. */
    public boolean closesConnection() {
        return closesConnection;
    }

    /** The code for a wire number; {@link #UNKNOWN} for numbers this version does not know. */
    public static ErrorCode of(int code) {
        if (code >= 0 && code < BY_CODE.length && BY_CODE[code] != null) {
            return BY_CODE[code];
        }
        return UNKNOWN;
    }
}
