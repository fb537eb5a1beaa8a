package dev.wirebus.protocol;

/**
 * The frame type byte of every wirebus frame. The numbers are part of the wire contract.
 *
 * <pre>{@code
 * FrameType t = FrameType.of(buf.getUnsignedByte(4));
 * }</pre>
 */
public enum FrameType {
    HELLO(0x01),
    WELCOME(0x02),
    PING(0x03),
    PONG(0x04),
    GOAWAY(0x05),
    ERROR(0x06),
    OK(0x07),
    AUTH(0x08),
    AUTH_OK(0x09),
    PUBLISH(0x10),
    PUBLISH_BATCH(0x11),
    PUBLISH_ACK(0x12),
    PUBLISH_IDEMPOTENT(0x13),
    SUBSCRIBE(0x20),
    SUBSCRIBED(0x21),
    DELIVER(0x22),
    CREDIT(0x23),
    UNSUBSCRIBE(0x24),
    SUBSCRIPTION_CLOSED(0x25),
    CONSUME(0x26),
    ACK(0x27),
    CONSUMERS(0x28),
    CONSUMER_LIST(0x29),
    FETCH(0x2A),
    FETCHED(0x2B),
    REQUEST(0x30),
    RESPONSE(0x31),
    RESPOND_ON(0x32),
    RESPOND_OFF(0x33),
    STREAMS(0x40),
    STREAM_LIST(0x41),
    DELETE_STREAM(0x42),
    TRIM_STREAM(0x43),
    DELETE_CONSUMER(0x44);

    private static final FrameType[] BY_CODE = new FrameType[256];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    FrameType(int code) {
        this.code = code;
    }

    /** The type byte on the wire. */
    public int code() {
        return code;
    }

    /** The type for a wire byte, or {@code null} when the byte names no known type. */
    public static FrameType of(int code) {
        return code >= 0 && code < 256 ? BY_CODE[code] : null;
    }
}
