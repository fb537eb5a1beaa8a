package dev.wirebus.gateway.internal;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code GET /v1/streams/{stream}/messages?from=N&limit=M&encoding=text|base64}: one page of a
 * stream's messages.
 */
public final class ReadEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        ex.fail(GatewayError.of(HttpResponseStatus.NOT_IMPLEMENTED, "NOT_IMPLEMENTED", "reading pages is not there yet"));
    }
}
