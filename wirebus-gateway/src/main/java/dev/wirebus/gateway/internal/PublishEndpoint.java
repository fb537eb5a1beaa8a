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
    private static final byte[] STREAM = "{\"stream\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SEQ = "\",\"seq\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DUPLICATE = ",\"duplicate\":true".getBytes(StandardCharsets.US_ASCII);

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
     * The answer's JSON, written straight into an array: this answer is the gateway's most frequent,
     * and a tree plus a serializer for three fields cost more than the rest of its work. (A heap
     * array, not a pooled buffer: the HTTP encoder copies a body this small behind the headers.)
     */
    static ByteBuf ackBody(String stream, PublishAck ack) {
        byte[] name = JsonStringEncoder.getInstance().quoteAsUTF8(stream);
        String seq = Long.toString(ack.firstSequence());
        byte[] out = new byte[STREAM.length + name.length + SEQ.length + seq.length()
                + (ack.duplicate() ? DUPLICATE.length : 0) + 1];
        int at = put(out, 0, STREAM);
        at = put(out, at, name);
        at = put(out, at, SEQ);
        for (int i = 0; i < seq.length(); i++) {
            out[at++] = (byte) seq.charAt(i);
        }
        if (ack.duplicate()) {
            at = put(out, at, DUPLICATE);
        }
        out[at] = '}';
        return Unpooled.wrappedBuffer(out);
    }

    private static int put(byte[] out, int at, byte[] part) {
        System.arraycopy(part, 0, out, at, part.length);
        return at + part.length;
    }
}
