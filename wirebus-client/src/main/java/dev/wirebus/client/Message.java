package dev.wirebus.client;

import java.nio.charset.StandardCharsets;

/**
 * A message delivered to a subscription: its stream, its sequence in that stream, and its payload.
 *
 * <pre>{@code
 * client.subscribe("blocks", StartPosition.earliest(), m -> execute(m.sequence(), m.payload()));
 * }</pre>
 *
 * <p>Immutable as long as nobody writes into the array {@link #payload()} returns (it is not copied).
 */
public final class Message {
    private final String stream;
    private final long sequence;
    private final byte[] payload;

    public Message(String stream, long sequence, byte[] payload) {
        this.stream = stream;
        this.sequence = sequence;
        this.payload = payload;
    }

    public String stream() {
        return stream;
    }

    public long sequence() {
        return sequence;
    }

    /** The payload bytes (not a copy; do not modify). */
    public byte[] payload() {
        return payload;
    }

    /** The payload decoded as UTF-8. */
    public String payloadAsString() {
        return new String(payload, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "Message[" + stream + "#" + sequence + ", " + payload.length + " bytes]";
    }
}
