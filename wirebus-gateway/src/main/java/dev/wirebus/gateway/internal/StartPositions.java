package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.client.StartPosition;

import java.util.Locale;

/** Parses where a gateway subscription starts: a sequence, {@code beginning} or {@code end}. */
public final class StartPositions {
    private StartPositions() {
    }

    /** {@code N} (at least 1), {@code beginning} or {@code end}; null means {@code end}. */
    public static StartPosition parse(String from) {
        if (from == null || from.isEmpty()) {
            return StartPosition.latest();
        }
        switch (from.toLowerCase(Locale.ROOT)) {
            case "beginning":
            case "earliest":
                return StartPosition.earliest();
            case "end":
            case "latest":
                return StartPosition.latest();
            default:
                try {
                    return StartPosition.sequence(Long.parseLong(from));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("from '" + from + "' is not a sequence, beginning or end");
                }
        }
    }

    /** The {@code from} of a WebSocket subscribe: a number or a string as above; missing means {@code end}. */
    public static StartPosition parse(JsonNode from) {
        if (from == null || from.isNull()) {
            return StartPosition.latest();
        }
        if (from.isIntegralNumber()) {
            return StartPosition.sequence(from.asLong());
        }
        if (from.isTextual()) {
            return parse(from.asText());
        }
        throw new IllegalArgumentException("from must be a sequence, \"beginning\" or \"end\"");
    }

    /** The sequence after a {@code Last-Event-ID}, or null when the header is absent. */
    public static StartPosition afterLastEventId(String lastEventId) {
        if (lastEventId == null || lastEventId.isBlank()) {
            return null;
        }
        long last;
        try {
            last = Long.parseLong(lastEventId.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Last-Event-ID '" + lastEventId + "' is not a sequence");
        }
        if (last < 0) {
            throw new IllegalArgumentException("Last-Event-ID must be at least 0, was " + last);
        }
        return StartPosition.sequence(last + 1);
    }
}
