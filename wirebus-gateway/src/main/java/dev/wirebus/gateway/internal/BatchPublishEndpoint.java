package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/streams/{stream}/batch} with {@code {"messages":["text", {"base64":"..."}, ...]}}:
 * appends them atomically at consecutive sequences. Answers
 * {@code {"stream":"chat","first_seq":7,"last_seq":9,"count":3}}. Same headers as a single publish.
 */
public final class BatchPublishEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        String stream = ex.param("stream");
        byte[] body = ex.body();
        List<byte[]> payloads = payloads(Json.parse(body, 0, body.length));
        PublishHeaders headers = PublishHeaders.of(ex);
        headers.publishBatch(ex.gateway().client(), stream, payloads).whenComplete((ack, failure) -> {
            if (failure != null) {
                ex.fail(failure);
                return;
            }
            ObjectNode r = Json.object().put("stream", stream).put("first_seq", ack.firstSequence())
                    .put("last_seq", ack.lastSequence()).put("count", ack.count());
            if (ack.duplicate()) {
                r.put("duplicate", true);
            }
            ex.respond(Responses.json(HttpResponseStatus.OK, r));
        });
    }

    static List<byte[]> payloads(JsonNode root) {
        JsonNode messages = root.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw new IllegalArgumentException("the body must be {\"messages\":[...]} with at least one message");
        }
        List<byte[]> payloads = new ArrayList<>(messages.size());
        for (JsonNode m : messages) {
            if (m.isTextual()) {
                payloads.add(m.asText().getBytes(StandardCharsets.UTF_8));
            } else if (m.isObject()) {
                payloads.add(Payloads.fromJson(m));
            } else {
                throw new IllegalArgumentException("each message is a string or {\"base64\":\"...\"}");
            }
        }
        return payloads;
    }
}
