package dev.wirebus.gateway;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Cross-site requests, WebSocket hijacking and DNS rebinding (issue 13): a page of a foreign origin
 * can neither publish (not even with a text/plain "simple" POST) nor open the WebSocket; a loopback
 * gateway answers only loopback host names; an allowed origin gets proper CORS and preflight answers.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BrowserAccessTest {
    private static final String EVIL = "http://evil.example";
    private static final String WS_KEY = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private RawHttp.Response raw(String request) {
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write(request);
            return c.readResponse();
        }
    }

    private HttpResponse<String> post(String path, String body, String... headers) {
        return f.post(path, body, headers);
    }

    @Test
    void aSimpleTextPlainPostFromAForeignOriginIs403AndAppendsNothing() throws Exception {
        f = GatewayFixture.start();
        HttpResponse<String> r = post("/v1/streams/csrf/messages", "forged", "Origin", EVIL, "Content-Type", "text/plain");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(GatewayFixture.json(r).at("/error/code").asText()).isEqualTo("ORIGIN_NOT_ALLOWED");
        assertThat(r.headers().firstValue("access-control-allow-origin")).isEmpty();
        assertThat(f.client.fetch("csrf", 1, 10).get().messages()).isEmpty();
        assertThat(f.rejections("origin_not_allowed")).isEqualTo(1);
    }

    @Test
    void aWebSocketHandshakeFromAForeignOriginIs403NotAnUpgrade() {
        f = GatewayFixture.start();
        RawHttp.Response r = raw("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: " + EVIL + "\r\n" + WS_KEY + "\r\n");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body()).contains("ORIGIN_NOT_ALLOWED");
    }

    @Test
    void anOpaqueNullOriginIsForeign() {
        f = GatewayFixture.start();
        assertThat(post("/v1/streams/s/messages", "x", "Origin", "null").statusCode()).isEqualTo(403);
    }

    @Test
    void theGatewaysOwnPageMayPublishAndOpenTheWebSocket() {
        f = GatewayFixture.start();
        String own = "http://127.0.0.1:" + f.gateway.port();
        assertThat(post("/v1/streams/own/messages", "hi", "Origin", own).statusCode()).isEqualTo(200);
        RawHttp.Response r = raw("GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:" + f.gateway.port() + "\r\nOrigin: " + own
                + "\r\n" + WS_KEY + "\r\n");
        assertThat(r.status()).isEqualTo(101);
    }

    @Test
    void aRequestWithoutOriginIsNotABrowsersAndIsServed() {
        f = GatewayFixture.start();
        assertThat(post("/v1/streams/curl/messages", "hi").statusCode()).isEqualTo(200);
    }

    @Test
    void aLoopbackGatewayRefusesAForeignHostNameDnsRebinding() {
        f = GatewayFixture.start();
        RawHttp.Response r = raw("GET /v1/streams/s/messages HTTP/1.1\r\nHost: evil.example:" + f.gateway.port() + "\r\n\r\n");
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body()).contains("HOST_NOT_ALLOWED");
        RawHttp.Response post = raw("POST /v1/streams/s/messages HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example"
                + "\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx");
        assertThat(post.status()).isEqualTo(403);
        for (String ok : new String[] {"localhost", "127.0.0.1", "[::1]"}) {
            assertThat(raw("GET /healthz HTTP/1.1\r\nHost: " + ok + ":" + f.gateway.port() + "\r\n\r\n").status())
                    .as(ok).isEqualTo(200);
        }
        assertThat(f.rejections("host_not_allowed")).isEqualTo(2);
    }

    @Test
    void aConfiguredHostNameIsServedOnLoopbackToo() {
        f = GatewayFixture.startWith(g -> g.browserAccess(BrowserAccess.builder().allowHost("wirebus.internal").build()));
        assertThat(raw("GET /healthz HTTP/1.1\r\nHost: wirebus.internal:80\r\n\r\n").status()).isEqualTo(200);
        assertThat(raw("GET /healthz HTTP/1.1\r\nHost: other.internal\r\n\r\n").status()).isEqualTo(403);
    }

    @Test
    void anAllowedOriginGetsPreflightAndCorsHeadersWithVaryOrigin() {
        String app = "https://chat.example.com";
        f = GatewayFixture.startWith(g -> g.browserAccess(BrowserAccess.builder().allowOrigin(app).build()));
        HttpResponse<String> pre = f.send(HttpRequest.newBuilder(f.uri("/v1/streams/chat/messages"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", app).header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization, content-type").build());
        assertThat(pre.statusCode()).isEqualTo(204);
        assertThat(pre.headers().firstValue("access-control-allow-origin")).hasValue(app);
        assertThat(pre.headers().firstValue("access-control-allow-methods").orElseThrow()).contains("POST", "GET");
        assertThat(pre.headers().firstValue("access-control-allow-headers").orElseThrow()).contains("authorization",
                "content-type");
        assertThat(pre.headers().firstValue("vary").orElseThrow()).contains("Origin");

        HttpResponse<String> r = post("/v1/streams/chat/messages", "hi", "Origin", app);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("access-control-allow-origin")).hasValue(app);
        assertThat(r.headers().firstValue("vary")).hasValue("Origin");

        HttpResponse<String> foreignPreflight = f.send(HttpRequest.newBuilder(f.uri("/v1/streams/chat/messages"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                .header("Origin", EVIL).header("Access-Control-Request-Method", "POST").build());
        assertThat(foreignPreflight.statusCode()).isEqualTo(403);
        assertThat(foreignPreflight.headers().firstValue("access-control-allow-origin")).isEmpty();
    }

    @Test
    void anAllowedOriginsEventStreamCarriesCorsHeaders() throws Exception {
        String app = "https://chat.example.com";
        f = GatewayFixture.startWith(g -> g.browserAccess(BrowserAccess.builder().allowOrigin(app).build()));
        f.client.publish("sse", "x".getBytes()).get(10, java.util.concurrent.TimeUnit.SECONDS);
        try (SseEvents events = SseEvents.open(f.http, f.uri("/v1/streams/sse/events?from=1"), "Origin", app)) {
            assertThat(events.response.statusCode()).isEqualTo(200);
            assertThat(events.response.headers().firstValue("access-control-allow-origin")).hasValue(app);
            assertThat(events.next().data()).isEqualTo("x");
        }
    }

    @Test
    void aPlainOptionsListsTheMethodsOfThePath() {
        f = GatewayFixture.start();
        HttpResponse<String> r = f.send(HttpRequest.newBuilder(f.uri("/v1/streams/chat/messages"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).isEqualTo(204);
        assertThat(r.headers().firstValue("allow")).hasValue("POST, GET, OPTIONS");
    }

    @Test
    void getAnswersVaryByOrigin() {
        f = GatewayFixture.start();
        assertThat(f.get("/v1/streams/v/messages").headers().firstValue("vary")).hasValue("Origin");
    }

    @Test
    void theDemoCanBeSwitchedOff() {
        f = GatewayFixture.startWith(g -> g.demo(false));
        assertThat(f.get("/").statusCode()).isEqualTo(404);
        assertThat(f.get("/wirebus.js").statusCode()).isEqualTo(404);
        assertThat(post("/v1/demo/streams/d/tokens?count=1", "").statusCode()).isEqualTo(404);
        assertThat(f.get("/healthz").statusCode()).isEqualTo(200);
    }

    @Test
    void originsAreValidatedWhenConfigured() {
        assertThatThrownBy(() -> BrowserAccess.builder().allowOrigin("chat.example.com"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an origin");
        assertThatThrownBy(() -> BrowserAccess.builder().allowOrigin("https://a.example/path"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(BrowserAccess.builder().allowOrigin("HTTPS://Chat.Example.com:443").build().origins())
                .containsExactly("https://chat.example.com");
    }
}
