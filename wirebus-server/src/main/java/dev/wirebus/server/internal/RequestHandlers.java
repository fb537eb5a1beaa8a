package dev.wirebus.server.internal;

import dev.wirebus.protocol.Frame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * REQUEST, RESPONSE, ERROR (a responder's refusal), RESPOND_ON and RESPOND_OFF: hands requests and
 * their answers to the broker's {@link RequestRouter}, which picks a responder, keeps the deadline
 * and routes the answer back.
 */
final class RequestHandlers {
    private static final Logger log = LoggerFactory.getLogger(RequestHandlers.class);

    private RequestHandlers() {
    }

    static void request(ConnectionHandler c, Frame.Request f) {
        BrokerContext broker = c.broker();
        if (broker.shuttingDown()) {
            broker.metrics().request(BrokerMetrics.RequestOutcome.SHUTDOWN);
        }
        c.refuseWhenShuttingDown();
        broker.router().request(c, f);
    }

    static void response(ConnectionHandler c, Frame.Response f) {
        c.broker().router().response(c, f);
    }

    static void error(ConnectionHandler c, Frame.Error f) {
        if (!c.broker().router().responderError(c, f)) {
            log.debug("client '{}' sent ERROR {} for request {}: {}", c.clientName(), f.code(), f.requestId(),
                    f.message());
        }
    }

    static void respondOn(ConnectionHandler c, Frame.RespondOn f) {
        c.broker().router().register(f.subject(), c);
        c.channel().write(new Frame.Ok(f.requestId()));
    }

    static void respondOff(ConnectionHandler c, Frame.RespondOff f) {
        c.broker().router().unregister(f.subject(), c);
        c.channel().write(new Frame.Ok(f.requestId()));
    }
}
