package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.wirebus.client.PublishAck;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.nio.charset.StandardCharsets;

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
            ex.respond(Responses.jsonReadOnlyHeaders(HttpResponseStatus.OK, ackBody(stream, ack)));
        });
    }

    /**
     * The answer's JSON, built as text: this answer is the gateway's most frequent, and a tree plus a
     * serializer for three fields cost more than the rest of its work. (A heap array, not a pooled
     * buffer: the HTTP encoder copies a body this small behind the headers.)
     */
    static ByteBuf ackBody(String stream, PublishAck ack) {
        StringBuilder json = new StringBuilder(48).append("{\"stream\":\"");
        JsonStringEncoder.getInstance().quoteAsString(stream, json);
        json.append("\",\"seq\":").append(ack.firstSequence());
        if (ack.duplicate()) {
            json.append(",\"duplicate\":true");
        }
        return Unpooled.wrappedBuffer(json.append('}').toString().getBytes(StandardCharsets.UTF_8));
    }
}
