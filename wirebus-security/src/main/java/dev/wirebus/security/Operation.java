package dev.wirebus.security;

/**
 * What a principal asks to do, checked against its permissions before the broker or the gateway
 * carries it out. The resource checked is a stream name, a subject, or a durable consumer's name.
 *
 * <pre>{@code
 * if (!policy.allows(principal, Operation.PUBLISH, "blocks")) { refuse(); }
 * }</pre>
 */
public enum Operation {
    /** Append to a stream (resource: the stream). */
    PUBLISH("publish"),
    /** Subscribe to or fetch from a stream (resource: the stream). */
    READ("read"),
    /** Attach as a named durable consumer, ack it, move or gate it (resource: the consumer name). */
    CONSUME("consume"),
    /** Send a request on a subject (resource: the subject). */
    REQUEST("request"),
    /** Register as a responder on a subject (resource: the subject). */
    RESPOND("respond"),
    /** List, inspect, trim and delete streams and consumers (resource: the stream, or "*"). */
    ADMIN("admin");

    private final String word;

    Operation(String word) {
        this.word = word;
    }

    /** The lower-case word used in configuration files and error messages. */
    public String word() {
        return word;
    }
}
