package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wirebus.client.Message;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code GET /v1/streams/{stream}/messages?from=N&limit=M&encoding=text|base64}: one page of a
 * stream's messages (from 1 and 100 by default, at most 1000), with {@code next}, the sequence to
 * ask for next, and {@code last_seq}, the stream's last sequence. Below the retained range it
 * answers 410 {@code SEQUENCE_NOT_RETAINED} with {@code resume_from}.
 */
public final class ReadEndpoint implements Endpoint {
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;

    @Override
    public void handle(Exchange ex) {
        String stream = ex.param("stream");
        long from = Numbers.parse(ex.query("from"), 1, 1, Long.MAX_VALUE, "from");
        long limit = Numbers.parse(ex.query("limit"), DEFAULT_LIMIT, 1, Long.MAX_VALUE, "limit");
        if (limit > MAX_LIMIT) {
            throw new IllegalArgumentException("limit must be at most " + MAX_LIMIT + ", was " + limit);
        }
        Payloads encoding = Payloads.parse(ex.query("encoding"));
        ex.gateway().client().fetch(stream, from, (int) limit).whenComplete((page, failure) -> {
            if (failure != null) {
                ex.fail(failure);
                return;
            }
            ObjectNode body = Json.object().put("stream", stream);
            ArrayNode messages = body.putArray("messages");
            String field = encoding.field();
            for (Message m : page.messages()) {
                messages.addObject().put("seq", m.sequence()).put(field, encoding.encode(m.payload()));
            }
            body.put("next", page.nextSequence()).put("last_seq", page.lastSequence());
            ex.respond(Responses.json(HttpResponseStatus.OK, body));
        });
    }
}
