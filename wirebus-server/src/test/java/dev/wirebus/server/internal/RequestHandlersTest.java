package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RequestHandlersTest {
    @Test
    void aRequestReachesTheResponderAndItsResponseComesBackWithTheRequestersId() {
        try (EmbeddedConnection requester = EmbeddedConnection.open();
             EmbeddedConnection responder = requester.another()) {
            responder.send(new Frame.RespondOn(5, "quote"));
            assertThat(responder.next(Frame.Ok.class).requestId()).isEqualTo(5);

            requester.send(new Frame.Request(77, "quote", 10_000, "q".getBytes()));
            Frame.Request routed = responder.next(Frame.Request.class);
            assertThat(routed.subject()).isEqualTo("quote");
            assertThat(new String(routed.payload())).isEqualTo("q");

            responder.send(new Frame.Response(routed.requestId(), "r".getBytes()));
            Frame.Response answer = requester.next(Frame.Response.class);
            assertThat(answer.requestId()).isEqualTo(77);
            assertThat(new String(answer.payload())).isEqualTo("r");
        }
    }

    @Test
    void aResponderErrorReachesTheRequester() {
        try (EmbeddedConnection requester = EmbeddedConnection.open();
             EmbeddedConnection responder = requester.another()) {
            responder.send(new Frame.RespondOn(5, "quote"));
            responder.next(Frame.Ok.class);
            requester.send(new Frame.Request(77, "quote", 10_000, "q".getBytes()));
            Frame.Request routed = responder.next(Frame.Request.class);
            responder.send(new Frame.Error(routed.requestId(), ErrorCode.INVALID_ARGUMENT.code(), "bad quote", null));
            Frame.Error e = requester.next(Frame.Error.class);
            assertThat(e.requestId()).isEqualTo(77);
            assertThat(e.message()).contains("bad quote");
        }
    }

    @Test
    void afterRespondOffNoResponderIsLeft() {
        try (EmbeddedConnection requester = EmbeddedConnection.open();
             EmbeddedConnection responder = requester.another()) {
            responder.send(new Frame.RespondOn(5, "quote"), new Frame.RespondOff(6, "quote"));
            assertThat(responder.drain()).containsExactly(new Frame.Ok(5), new Frame.Ok(6));
            requester.send(new Frame.Request(77, "quote", 10_000, "q".getBytes()));
            requester.nextError(77, ErrorCode.NO_RESPONDERS);
        }
    }

    @Test
    void requestsAreRefusedWhileTheBrokerShutsDown() {
        try (EmbeddedConnection c = EmbeddedConnection.open()) {
            c.broker.beginShutdown();
            c.send(new Frame.Request(7, "quote", 1000, new byte[0]));
            c.nextError(7, ErrorCode.SHUTTING_DOWN);
        }
    }
}
