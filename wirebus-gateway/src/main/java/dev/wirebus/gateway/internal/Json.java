package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;

/** The gateway's one {@link ObjectMapper}: JSON bodies and WebSocket frames. Thread-safe. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
        }
    }

    /** Parses {@code bytes}; a syntax error becomes an {@link IllegalArgumentException} saying where. */
    public static JsonNode parse(byte[] bytes, int offset, int length) {
        try {
            JsonNode node = MAPPER.readTree(bytes, offset, length);
            if (node == null || node.isMissingNode()) {
                throw new IllegalArgumentException("empty JSON");
            }
            return node;
        } catch (IOException e) {
            String m = e instanceof JsonProcessingException ? ((JsonProcessingException) e).getOriginalMessage() : e.getMessage();
            throw new IllegalArgumentException("not valid JSON: " + m, e);
        }
    }

    /** The error object of a response body or a WebSocket error frame, without the {@code type}. */
    public static ObjectNode error(GatewayError error) {
        ObjectNode e = object();
        e.put("code", error.code());
        e.put("message", error.message());
        error.fields().forEach((k, v) -> e.set(k, MAPPER.valueToTree(v)));
        if (error.retryAfterMillis() > 0) {
            e.put("retry_after_ms", error.retryAfterMillis());
        }
        return e;
    }
}
