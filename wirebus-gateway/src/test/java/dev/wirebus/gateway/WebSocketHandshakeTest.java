package dev.wirebus.gateway;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** A WebSocket handshake that cannot succeed is answered and closed, never left hanging. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WebSocketHandshakeTest {
    private static final String UPGRADE = "GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";

    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private void assertRefusedAndClosed(String request, int status) {
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write(request);
            RawHttp.Response r = c.readResponse();
            assertThat(r.status()).isEqualTo(status);
            assertThat(r.body()).contains("\"code\":\"BAD_REQUEST\"");
            assertThat(r.headers().get("connection")).isEqualToIgnoringCase("close");
            if (status == 426) {
                assertThat(r.headers().get("sec-websocket-version")).isEqualTo("13");
            }
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    @Test
    void aHandshakeWithoutKeyIs400AndClosed() {
        f = GatewayFixture.start();
        assertRefusedAndClosed(UPGRADE + "Sec-WebSocket-Version: 13\r\n\r\n", 400);
    }

    @Test
    void aHandshakeWithoutVersionIs400AndClosed() {
        f = GatewayFixture.start();
        assertRefusedAndClosed(UPGRADE + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 400);
    }

    @Test
    void anUnsupportedVersionIs426NamingVersion13AndClosed() {
        f = GatewayFixture.start();
        assertRefusedAndClosed(UPGRADE + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n", 426);
        assertThat(f.rejections("bad_request")).isEqualTo(1);
    }

    @Test
    void aValidHandshakeStillUpgrades() {
        f = GatewayFixture.start();
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"ping\",\"id\":\"p\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("pong");
        }
    }
}
