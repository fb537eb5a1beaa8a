package dev.wirebus.gateway;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A gateway lost mid-stream, in a real browser (issue 15), with two gateways on one broker:
 * {@code browser-tests/failover.mjs} gives wirebus.js both gateways' URLs; {@code balancer.mjs}
 * puts them behind one TCP balancer and follows the stream with wirebus.js and a plain EventSource
 * (Last-Event-ID). Each closes the gateway in use after a third of the chunks and checks that every
 * chunk arrives once, in order. (Two brokers sharing one store come with the Redis store.)
 */
class BrowserFailoverTest {
    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void wirebusJsMovesToTheSecondGatewayAndResumesWithoutAGap() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient clientA = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway-a").connect();
             WirebusClient clientB = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway-b").connect()) {
            Gateway a = Gateway.builder().client(clientA).bind("127.0.0.1", 0).build().start();
            String originA = "http://127.0.0.1:" + a.port();
            try (Gateway b = Gateway.builder().client(clientB).bind("127.0.0.1", 0)
                    .browserAccess(BrowserAccess.builder().allowOrigin(originA).build()).build().start()) {
                BrowserScript.Result r = BrowserScript.run("failover.mjs",
                        List.of(originA, "http://127.0.0.1:" + b.port()), Map.of(), control -> {
                            if (control.equals("close-a")) {
                                a.close();
                                return "closed";
                            }
                            return null;
                        });
                assertThat(r.finished()).as("failover.mjs finished; its output:%n%s", r.output()).isTrue();
                assertThat(r.exitCode()).as("failover.mjs exit code; its output:%n%s", r.output()).isZero();
            } finally {
                a.close();
            }
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void behindABalancerWebSocketAndEventSourceResumeOnTheOtherGateway() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient clientA = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway-a").connect();
             WirebusClient clientB = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway-b").connect()) {
            Gateway a = Gateway.builder().client(clientA).bind("127.0.0.1", 0).build().start();
            try (Gateway b = Gateway.builder().client(clientB).bind("127.0.0.1", 0).build().start();
                 TcpBalancer lb = new TcpBalancer(List.of(a.address(), b.address()))) {
                BrowserScript.Result r = BrowserScript.run("balancer.mjs", List.of("http://127.0.0.1:" + lb.port()),
                        Map.of(), control -> {
                            if (control.equals("close-a")) {
                                a.close();
                                return "closed";
                            }
                            return null;
                        });
                assertThat(r.finished()).as("balancer.mjs finished; its output:%n%s", r.output()).isTrue();
                assertThat(r.exitCode()).as("balancer.mjs exit code; its output:%n%s", r.output()).isZero();
            } finally {
                a.close();
            }
        }
    }
}
