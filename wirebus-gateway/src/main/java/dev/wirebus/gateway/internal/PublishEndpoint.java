package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import dev.wirebus.client.PublishAck;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
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
            ex.respond(Responses.json(HttpResponseStatus.OK, ackBody(ex.ctx().alloc(), stream, ack)));
        });
    }

    /**
     * The answer's JSON, written straight into a buffer: this answer is the gateway's most frequent,
     * and a tree plus a serializer for three fields cost more than the rest of its work.
     */
    static ByteBuf ackBody(ByteBufAllocator alloc, String stream, PublishAck ack) {
        byte[] name = JsonStringEncoder.getInstance().quoteAsUTF8(stream);
        ByteBuf body = alloc.buffer(STREAM.length + name.length + SEQ.length + 20 + DUPLICATE.length + 1);
        body.writeBytes(STREAM).writeBytes(name).writeBytes(SEQ);
        ByteBufUtil.writeAscii(body, Long.toString(ack.firstSequence()));
        if (ack.duplicate()) {
            body.writeBytes(DUPLICATE);
        }
        return body.writeByte('}');
    }
}
