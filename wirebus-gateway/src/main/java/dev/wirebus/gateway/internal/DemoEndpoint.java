package dev.wirebus.gateway.internal;

import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code POST /v1/demo/streams/{stream}/tokens?count=200&interval_ms=25}: starts a
 * {@link DemoTokenProducer} on the stream and answers 202 with the first chunk's sequence.
 */
public final class DemoEndpoint implements Endpoint {
    private final DemoTokenProducer producer;

    public DemoEndpoint(DemoTokenProducer producer) {
        this.producer = producer;
    }

    @Override
    public void handle(Exchange ex) {
        String stream = ex.param("stream");
        int count = (int) Numbers.parse(ex.query("count"), 200, 1, DemoTokenProducer.MAX_COUNT, "count");
        long interval = Numbers.parse(ex.query("interval_ms"), 25, 0, 60_000, "interval_ms");
        producer.start(stream, count, interval).whenComplete((first, failure) -> {
            if (failure != null) {
                ex.fail(failure);
            } else if (first == null) {
                ex.fail(GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.TOO_MANY_IN_FLIGHT,
                        DemoTokenProducer.MAX_RUNNING + " demo producers are running already").retryAfter(5000));
            } else {
                ex.respond(Responses.json(HttpResponseStatus.ACCEPTED, Json.object().put("stream", stream)
                        .put("count", count).put("interval_ms", interval).put("first_seq", first)));
            }
        });
    }
}
