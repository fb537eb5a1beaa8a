package dev.wirebus.gateway.internal;

import io.netty.handler.codec.http.HttpResponseStatus;

import java.time.Duration;

/**
 * {@code POST /v1/requests/{subject}}: sends the body as a request to one responder of the subject
 * and answers 200 with the reply's bytes; 504 when no reply comes within {@code Wirebus-Timeout}
 * ({@code 2s}, {@code 500ms} or milliseconds; default the gateway's request timeout, which answers
 * 504 itself when it passes first), 503 when nobody responds on the subject.
 */
public final class RequestEndpoint implements Endpoint {
    static final String TIMEOUT_HEADER = "Wirebus-Timeout";

    @Override
    public void handle(Exchange ex) {
        String subject = ex.param("subject");
        Duration max = ex.gateway().limits().requestTimeout();
        Duration timeout = Durations.parseOr(ex.header(TIMEOUT_HEADER), max, TIMEOUT_HEADER);
        ex.gateway().client().request(subject, ex.body(), timeout).whenComplete((reply, failure) -> {
            if (failure != null) {
                ex.fail(failure);
                return;
            }
            // the reply's type is unknown: it is the responder's bytes, not an echo of the request's type
            ex.respond(Responses.bytes(HttpResponseStatus.OK, reply, "application/octet-stream"));
        });
    }
}
