package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wirebus.client.ConsumerInfo;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code GET /v1/streams/{stream}}: the stream's last sequence, the gateway's subscribers on it and
 * the broker's durable consumers with their positions and lag.
 */
public final class StreamInfoEndpoint implements Endpoint {
    @Override
    public void handle(Exchange ex) {
        String stream = ex.param("stream");
        GatewayContext gateway = ex.gateway();
        gateway.client().consumers(stream).whenComplete((info, failure) -> {
            if (failure != null) {
                ex.fail(failure);
                return;
            }
            ObjectNode body = Json.object().put("stream", stream).put("last_seq", info.lastSequence())
                    .put("subscribers", gateway.subscribers().on(stream));
            ArrayNode consumers = body.putArray("consumers");
            for (ConsumerInfo c : info.consumers()) {
                consumers.addObject().put("name", c.name()).put("acked_seq", c.ackedSequence()).put("lag", c.lag())
                        .put("max_lag", c.maxLag()).put("connected", c.connected());
            }
            ex.respond(Responses.json(HttpResponseStatus.OK, body));
        });
    }
}
