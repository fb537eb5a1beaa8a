package dev.wirebus.gateway.internal;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/** How payload bytes appear in JSON and SSE: as UTF-8 text or as base64. */
public enum Payloads {
    TEXT, BASE64;

    /** {@code text} (default when null) or {@code base64}. */
    public static Payloads parse(String encoding) {
        if (encoding == null || encoding.isEmpty()) {
            return TEXT;
        }
        switch (encoding.toLowerCase(Locale.ROOT)) {
            case "text":
                return TEXT;
            case "base64":
                return BASE64;
            default:
                throw new IllegalArgumentException("encoding '" + encoding + "' is not text or base64");
        }
    }

    /** The JSON field that carries a payload in this encoding: {@code data} or {@code base64}. */
    public String field() {
        return this == TEXT ? "data" : "base64";
    }

    public String encode(byte[] payload) {
        return this == TEXT ? new String(payload, StandardCharsets.UTF_8) : Base64.getEncoder().encodeToString(payload);
    }

    /** The payload of a JSON message that has {@code "data"} (text) or {@code "base64"}. */
    public static byte[] fromJson(com.fasterxml.jackson.databind.JsonNode node) {
        com.fasterxml.jackson.databind.JsonNode b64 = node.get("base64");
        if (b64 != null && !b64.isNull()) {
            if (!b64.isTextual()) {
                throw new IllegalArgumentException("\"base64\" must be a string");
            }
            try {
                return Base64.getDecoder().decode(b64.asText());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("\"base64\" is not valid base64: " + e.getMessage());
            }
        }
        com.fasterxml.jackson.databind.JsonNode data = node.get("data");
        if (data == null || data.isNull()) {
            throw new IllegalArgumentException("a message needs \"data\" (text) or \"base64\"");
        }
        if (!data.isTextual()) {
            throw new IllegalArgumentException("\"data\" must be a string (use \"base64\" for bytes)");
        }
        return data.asText().getBytes(StandardCharsets.UTF_8);
    }
}
