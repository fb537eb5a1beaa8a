package dev.wirebus.gateway.internal;

import dev.wirebus.client.StartPosition;

/**
 * {@code GET /v1/streams/{stream}/events}: follows a stream as Server-Sent Events, from
 * {@code Last-Event-ID} + 1 when the browser reconnects, else from {@code from} (a sequence,
 * {@code beginning} or {@code end}, the default).
 */
public final class SseEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        String stream = ex.param("stream");
        Payloads encoding = Payloads.parse(ex.query("encoding"));
        StartPosition start = StartPositions.afterLastEventId(ex.header("Last-Event-ID"));
        if (start == null) {
            start = StartPositions.parse(ex.query("from"));
        }
        GatewayError down = ex.gateway().brokerUnavailable();
        if (down != null) {
            ex.fail(down);
            return;
        }
        new SseSession(ex, stream, start, encoding).open();
    }
}
