package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code POST /v1/streams/{stream}/messages}: the body is one message's payload. Answers
 * {@code {"stream":"chat","seq":7}}; with {@code Wirebus-Expected-Sequence} only if it lands there
 * (else 409 with {@code last_seq}); with {@code Wirebus-Producer-Id} and
 * {@code Wirebus-Producer-Sequence} a retry answers the original sequence and {@code "duplicate":true}.
 */
public final class PublishEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        String stream = ex.param("stream");
        PublishHeaders headers = PublishHeaders.of(ex);
        headers.publish(ex.gateway().client(), stream, ex.body()).whenComplete((ack, failure) -> {
            if (failure != null) {
                ex.fail(failure);
                return;
            }
            ObjectNode body = Json.object().put("stream", stream).put("seq", ack.sequence());
            if (ack.duplicate()) {
                body.put("duplicate", true);
            }
            ex.respond(Responses.json(HttpResponseStatus.OK, body));
        });
    }
}
