package dev.wirebus.server;

import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class SmokeTest {
    @TempDir
    Path dir;

    @Test
    void publishSubscribeRequest() throws Exception {
        try (Broker broker = Broker.start(BrokerConfig.builder().unixSocket(dir.resolve("b.sock"))
                .tcp(new InetSocketAddress("127.0.0.1", 0)).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            System.out.println("transport " + broker.transportName());
            assertThat(c.publish("s", "a".getBytes()).get()).isEqualTo(1L);
            assertThat(c.publish("s", "b".getBytes()).get()).isEqualTo(2L);
            List<Message> got = new CopyOnWriteArrayList<>();
            Subscription sub = c.subscribe("s", StartPosition.earliest(), got::add);
            assertThat(sub.started().get()).isEqualTo(1L);
            c.publish("s", "c".getBytes()).get();
            await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 3);
            c.respond("echo", r -> r.payload()).get();
            assertThat(new String(c.request("echo", "hi".getBytes(), Duration.ofSeconds(2)).get())).isEqualTo("hi");
            try (WirebusClient t = WirebusClient.builder().address("tcp://127.0.0.1:" + broker.tcpAddress().getPort()).connect()) {
                assertThat(t.publish("s", "d".getBytes()).get()).isEqualTo(4L);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> got.size() == 4);
        }
    }
}
