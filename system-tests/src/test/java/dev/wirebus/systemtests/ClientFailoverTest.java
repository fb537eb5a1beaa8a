package dev.wirebus.systemtests;

import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StoreChangedException;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A client given two real brokers fails over when the first one dies. These two brokers keep
 * separate in-memory stores (nodes on one shared store come with the Redis store), so the
 * subscription cannot resume without a gap and ends visibly; publishing goes on at the second.
 */
class ClientFailoverTest {

    @Test
    void whenTheFirstBrokerStopsTheClientGoesOnAtTheSecond() throws Exception {
        EmbeddedBroker a = EmbeddedBroker.start();
        try (EmbeddedBroker b = EmbeddedBroker.start();
             WirebusClient c = WirebusClient.builder().addresses(a.tcpAddress(), b.tcpAddress()).connect()) {
            assertThat(c.address()).isEqualTo(a.tcpAddress());
            assertThat(c.publish("s", new byte[] {1}).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1);
            Subscription sub = c.subscribe("s", StartPosition.earliest(), m -> { });
            sub.started().get(10, TimeUnit.SECONDS);

            a.close();

            await().atMost(Duration.ofSeconds(20)).until(() -> c.state() == ConnectionState.CONNECTED
                    && c.address().equals(b.tcpAddress()));
            assertThat(c.publish("s", new byte[] {2}).get(10, TimeUnit.SECONDS).firstSequence())
                    .as("the second broker's own stream").isEqualTo(1);
            assertThatThrownBy(() -> sub.closed().get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(StoreChangedException.class);
        }
    }
}
