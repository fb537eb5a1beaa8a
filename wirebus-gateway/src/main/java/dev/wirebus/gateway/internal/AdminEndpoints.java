package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wirebus.client.StreamInfo;
import dev.wirebus.security.Operation;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The admin endpoints, each guarded by the caller's admin permission on the stream (the broker sees
 * the gateway's own connection, so the gateway checks the caller):
 * <ul>
 *   <li>{@code GET /v1/streams?after=&limit=100}: streams with their retained range, size and
 *   consumers, in name order, only those the caller may administer; {@code next_after} continues.</li>
 *   <li>{@code DELETE /v1/streams/{stream}}: deletes a stream, its records and its consumers.</li>
 *   <li>{@code POST /v1/streams/{stream}/trim?before=N}: drops records below {@code N} as far as
 *   the storage granularity allows.</li>
 *   <li>{@code DELETE /v1/streams/{stream}/consumers/{consumer}}: deletes a durable consumer.</li>
 * </ul>
 * A stream or consumer that does not exist is {@code 404 NOT_FOUND}.
 */
final class AdminEndpoints {
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;

    private AdminEndpoints() {
    }

    /** {@code GET /v1/streams}. */
    static void list(Exchange ex) {
        String after = ex.query("after") == null ? "" : ex.query("after");
        int limit = (int) Numbers.parse(ex.query("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT, "limit");
        ex.gateway().client().streams(after, limit).whenComplete((page, failure) -> {
            if (failure != null) {
                ex.fail(failure);
                return;
            }
            ObjectNode body = Json.object();
            ArrayNode streams = body.putArray("streams");
            for (StreamInfo s : page.streams()) {
                // only what this caller may administer: no other stream's name leaks
                if (ex.gateway().setup().authenticator().policy().allows(ex.auth().principal(), Operation.ADMIN, s.name())) {
                    streams.addObject().put("name", s.name()).put("first_seq", s.firstSequence())
                            .put("last_seq", s.lastSequence()).put("bytes", s.bytes()).put("consumers", s.consumers());
                }
            }
            body.put("more", page.more());
            if (page.more()) {
                body.put("next_after", page.lastName());
            }
            ex.respond(Responses.json(HttpResponseStatus.OK, body));
        });
    }

    /** {@code DELETE /v1/streams/{stream}}. */
    static void deleteStream(Exchange ex) {
        String stream = ex.param("stream");
        ex.gateway().client().deleteStream(stream).whenComplete((ok, failure) -> {
            if (failure != null) {
                ex.fail(failure);
            } else {
                ex.respond(Responses.json(HttpResponseStatus.OK, Json.object().put("stream", stream).put("deleted", true)));
            }
        });
    }

    /** {@code POST /v1/streams/{stream}/trim?before=N}. */
    static void trim(Exchange ex) {
        String stream = ex.param("stream");
        String before = ex.query("before");
        if (before == null) {
            throw new IllegalArgumentException("trim needs ?before=N: records below N are dropped");
        }
        long n = Numbers.parse(before, 0, 1, Long.MAX_VALUE, "before");
        ex.gateway().client().trimStream(stream, n).whenComplete((ok, failure) -> {
            if (failure != null) {
                ex.fail(failure);
            } else {
                ex.respond(Responses.json(HttpResponseStatus.OK, Json.object().put("stream", stream).put("before", n)));
            }
        });
    }

    /** {@code DELETE /v1/streams/{stream}/consumers/{consumer}}. */
    static void deleteConsumer(Exchange ex) {
        String stream = ex.param("stream");
        String consumer = ex.param("consumer");
        ex.gateway().client().deleteConsumer(stream, consumer).whenComplete((ok, failure) -> {
            if (failure != null) {
                ex.fail(failure);
            } else {
                ex.respond(Responses.json(HttpResponseStatus.OK, Json.object().put("stream", stream)
                        .put("consumer", consumer).put("deleted", true)));
            }
        });
    }
}
