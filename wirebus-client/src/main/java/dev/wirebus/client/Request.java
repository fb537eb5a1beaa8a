package dev.wirebus.client;

import java.nio.charset.StandardCharsets;

/**
 * A request received by a responder: the subject it was sent on and its payload.
 *
 * <pre>{@code
 * client.respond("state.epoch", req -> Long.toString(epoch).getBytes());
 * }</pre>
 */
public final class Request {
    private final String subject;
    private final byte[] payload;

    public Request(String subject, byte[] payload) {
        this.subject = subject;
        this.payload = payload;
    }

    public String subject() {
        return subject;
    }

    /** The payload bytes (not a copy; do not modify). */
    public byte[] payload() {
        return payload;
    }

    public String payloadAsString() {
        return new String(payload, StandardCharsets.UTF_8);
    }
}
