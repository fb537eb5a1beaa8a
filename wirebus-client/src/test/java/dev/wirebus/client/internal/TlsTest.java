package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameType;
import dev.wirebus.testing.mockbroker.Action;
import dev.wirebus.testing.mockbroker.MockBroker;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code tls://} addresses against a mock broker speaking TLS with the test certificates in
 * src/test/resources/tls (made by make.sh there: a CA, a broker certificate for 127.0.0.1 and
 * localhost signed by it, and an unrelated CA).
 */
class TlsTest {
    private static Path tls(String file) throws Exception {
        return Path.of(TlsTest.class.getResource("/tls/" + file).toURI());
    }

    private static SslContext brokerContext() throws Exception {
        return SslContextBuilder.forServer(tls("broker.pem").toFile(), tls("broker.key").toFile()).build();
    }

    @Test
    void aClientTrustingTheBrokersCaTalksOverTls() throws Exception {
        try (MockBroker broker = MockBroker.startTls(brokerContext())) {
            broker.answerAlways(FrameType.PING, Action.answer(f -> new Frame.Pong(f.requestId())));
            try (DefaultWirebusClient c = TestClients.options(broker.tlsAddress()).trusted(tls("ca.pem")).connect()) {
                assertThat(c.address()).startsWith("tls://");
                c.ping().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aBrokerCertificateFromAnUntrustedCaFailsTheConnectCleanly() throws Exception {
        try (MockBroker broker = MockBroker.startTls(brokerContext())) {
            assertThatThrownBy(() -> TestClients.options(broker.tlsAddress()).trusted(tls("other-ca.pem")).connect())
                    .isInstanceOf(ConnectionException.class)
                    .hasMessageContaining("TLS handshake with " + broker.tlsAddress() + " failed");
            assertThat(broker.handshakeCount()).isZero();
        }
    }

    @Test
    void theBrokersHostNameIsChecked() throws Exception {
        // the certificate names localhost and 127.0.0.1, not 127.0.0.2 (also loopback on Linux)
        try (MockBroker broker = MockBroker.startTls(brokerContext(), java.net.InetAddress.getByName("127.0.0.2"))) {
            assertThat(broker.tlsAddress()).startsWith("tls://127.0.0.2:");
            assertThatThrownBy(() -> TestClients.options(broker.tlsAddress()).trusted(tls("ca.pem")).connect())
                    .isInstanceOf(ConnectionException.class)
                    .hasMessageContaining("TLS handshake with " + broker.tlsAddress() + " failed");
        }
    }
}
