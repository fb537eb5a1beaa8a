package dev.wirebus.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;

/** A Server-Sent Events reader over java.net.http: parses events and comments line by line, as a browser does. */
final class SseEvents implements AutoCloseable {
    /** One event: its id, type (null for the default "message") and data lines joined by newlines. */
    record Event(String id, String event, String data) {
    }

    final HttpResponse<Stream<String>> response;
    private final Iterator<String> lines;
    final List<String> comments = new ArrayList<>();
    String retry;
    /** The last event ID as a browser's EventSource keeps it: set by every {@code id:} field, with or without data. */
    String lastEventId;

    private SseEvents(HttpResponse<Stream<String>> response) {
        this.response = response;
        this.lines = response.body().iterator();
    }

    /** Opens the stream; returns once the response head arrived. */
    static SseEvents open(HttpClient http, URI uri, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        try {
            return new SseEvents(http.send(b.build(), HttpResponse.BodyHandlers.ofLines()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The next event (blocking), or null when the response ended. */
    Event next() {
        String id = null;
        String type = null;
        StringBuilder data = null;
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.isEmpty()) {
                if (data != null || type != null) {
                    return new Event(id, type, data == null ? "" : data.toString());
                }
                continue;
            }
            if (line.startsWith(":")) {
                comments.add(line);
                continue;
            }
            int colon = line.indexOf(':');
            String field = colon < 0 ? line : line.substring(0, colon);
            String value = colon < 0 ? "" : line.substring(colon + 1);
            if (value.startsWith(" ")) {
                value = value.substring(1);
            }
            switch (field) {
                case "id" -> {
                    id = value;
                    lastEventId = value;
                }
                case "event" -> type = value;
                case "retry" -> retry = value;
                case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                default -> { }
            }
        }
        return null;
    }

    /** Reads to the end of the first block that set the last event ID (an event or an id-only block); null at the end. */
    String awaitLastEventId() {
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.isEmpty() && lastEventId != null) {
                return lastEventId;
            }
            if (line.startsWith("id:")) {
                String value = line.substring(3);
                lastEventId = value.startsWith(" ") ? value.substring(1) : value;
            } else if (line.startsWith("retry:")) {
                retry = line.substring(6).trim();
            }
        }
        return null;
    }

    /** Whether a comment line arrives before the next event or the end (blocking). */
    boolean commentArrives() {
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.startsWith(":")) {
                comments.add(line);
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        response.body().close();
    }
}
