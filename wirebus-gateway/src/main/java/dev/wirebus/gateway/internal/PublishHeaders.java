package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.WirebusClient;
import io.netty.util.AsciiString;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The conditions of a publish: an expected sequence ({@code Wirebus-Expected-Sequence},
 * {@code expected_seq}) and an idempotent producer ({@code Wirebus-Producer-Id} +
 * {@code Wirebus-Producer-Sequence}, {@code producer_id} + {@code producer_seq}), and the client
 * call they make.
 */
final class PublishHeaders {
    // AsciiString names hash once; a String name is hashed (case-insensitively) at every lookup
    static final AsciiString EXPECTED_SEQUENCE = AsciiString.cached("Wirebus-Expected-Sequence");
    static final AsciiString PRODUCER_ID = AsciiString.cached("Wirebus-Producer-Id");
    static final AsciiString PRODUCER_SEQUENCE = AsciiString.cached("Wirebus-Producer-Sequence");

    private final Long expectedSequence;
    private final String producerId;
    private final Long producerSequence;

    private PublishHeaders(Long expectedSequence, String producerId, Long producerSequence) {
        if ((producerId == null) != (producerSequence == null)) {
            throw new IllegalArgumentException("a producer id and a producer sequence go together");
        }
        if (expectedSequence != null && expectedSequence < 1) {
            throw new IllegalArgumentException("the expected sequence must be at least 1, was " + expectedSequence);
        }
        if (producerSequence != null && producerSequence < 1) {
            throw new IllegalArgumentException("the producer sequence must be at least 1, was " + producerSequence);
        }
        this.expectedSequence = expectedSequence;
        this.producerId = producerId == null || producerId.isEmpty() ? null : producerId;
        this.producerSequence = producerSequence;
    }

    static PublishHeaders of(Exchange ex) {
        return new PublishHeaders(number(EXPECTED_SEQUENCE, ex.header(EXPECTED_SEQUENCE)), ex.header(PRODUCER_ID),
                number(PRODUCER_SEQUENCE, ex.header(PRODUCER_SEQUENCE)));
    }

    static PublishHeaders of(JsonNode op) {
        return new PublishHeaders(jsonNumber(op, "expected_seq"), op.hasNonNull("producer_id")
                ? op.get("producer_id").asText() : null, jsonNumber(op, "producer_seq"));
    }

    /** The client's options for these conditions. */
    PublishOptions options() {
        if (expectedSequence == null && producerId == null) {
            return PublishOptions.none();
        }
        PublishOptions.Builder b = PublishOptions.builder();
        if (expectedSequence != null) {
            b.expectedSequence(expectedSequence);
        }
        if (producerId != null) {
            b.producer(producerId, producerSequence);
        }
        return b.build();
    }

    CompletableFuture<PublishAck> publish(WirebusClient client, String stream, byte[] payload) {
        return client.publish(stream, payload, options());
    }

    CompletableFuture<PublishAck> publishBatch(WirebusClient client, String stream, List<byte[]> payloads) {
        return client.publishBatch(stream, payloads, options());
    }

    private static Long number(CharSequence name, String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " '" + text + "' is not a whole number");
        }
    }

    private static Long jsonNumber(JsonNode op, String field) {
        JsonNode n = op.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isIntegralNumber()) {
            throw new IllegalArgumentException("\"" + field + "\" must be a whole number");
        }
        return n.asLong();
    }
}
