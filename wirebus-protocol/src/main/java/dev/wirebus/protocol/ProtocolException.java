package dev.wirebus.protocol;

import io.netty.handler.codec.CorruptedFrameException;

/**
 * Thrown by the decoder when bytes violate the protocol. Carries the {@link ErrorCode} to answer
 * with and, when the frame header was readable, the request id of the offending frame.
 *
 * <pre>{@code
 * try { Frame f = FrameCodec.decode(buf); }
 * catch (ProtocolException e) { ctx.writeAndFlush(new Frame.Error(e.requestId(), e.errorCode(), e.getMessage())); }
 * }</pre>
 */
public final class ProtocolException extends CorruptedFrameException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;
    private final long requestId;

    public ProtocolException(ErrorCode errorCode, long requestId, String message) {
        super(message);
        this.errorCode = errorCode;
        this.requestId = requestId;
    }

    /** What kind of violation this is. */
    public ErrorCode errorCode() {
        return errorCode;
    }

    /** The request id of the offending frame, or 0 when it could not be read. */
    public long requestId() {
        return requestId;
    }
}
