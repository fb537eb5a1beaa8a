package dev.wirebus.bench;

import dev.wirebus.client.Responder;
import dev.wirebus.client.WirebusClient;

import java.time.Duration;

/**
 * One caller, one responder (an echo, on its own connection), sequential round trips:
 * requester -> broker -> responder -> broker -> requester, two network round trips per call.
 */
final class RequestReply implements Workload {
    static final String NAME = "request-reply";
    private static final String SUBJECT = "bench.echo";

    private final BenchOptions o;
    private final WirebusClient responderClient;
    private final WirebusClient requester;
    private final Responder responder;
    private final byte[] payload;
    private final boolean spin;

    RequestReply(BenchOptions o, String address) {
        this.o = o;
        this.spin = o.spin();
        this.payload = new byte[o.size];
        this.responderClient = WirebusClient.builder().address(address).name("bench-responder")
                .requestTimeout(o.timeout).connect();
        WirebusClient req = null;
        try {
            this.responder = Waits.await(responderClient.respond(SUBJECT, r -> r.payload()), o.timeout,
                    "RESPOND_ON confirmation");
            req = WirebusClient.builder().address(address).name("bench-requester").requestTimeout(o.timeout).connect();
        } catch (RuntimeException e) {
            responderClient.close();
            throw e;
        }
        this.requester = req;
    }

    @Override
    public Sample measure(Duration window) {
        return Sample.closedLoop(window, () -> {
            byte[] reply = Waits.await(requester.request(SUBJECT, payload, o.timeout), o.timeout.plusSeconds(1), spin,
                    "reply");
            if (reply.length != payload.length) {
                throw new BenchException("echo replied " + reply.length + " bytes to " + payload.length);
            }
        });
    }

    @Override
    public void close() {
        requester.close();
        responder.close();
        responderClient.close();
    }
}
