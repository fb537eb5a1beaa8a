package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.security.AccessPolicy;
import dev.wirebus.security.Authentication;
import dev.wirebus.security.AuthenticationException;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Principal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Bearer tokens on HTTP, SSE and the WebSocket, checked per operation: 401 without or with a bad
 * credential, 403 naming the operation and the resource when the principal may not, and a WebSocket
 * closed (4401, AUTH_EXPIRED) when its credential expires without a fresh {@code auth}.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GatewayAuthTest {
    /** reader may read chat.*, writer may also publish to chat.* and request on quote; anonymous nothing. */
    static final AccessPolicy POLICY = (principal, op, resource) -> switch (principal.name()) {
        case "reader" -> op == Operation.READ && resource.startsWith("chat.");
        case "writer" -> (op == Operation.READ || op == Operation.PUBLISH) && resource.startsWith("chat.")
                || op == Operation.REQUEST && resource.equals("quote");
        default -> false;
    };

    private GatewayFixture f;
    private volatile long shortLivedExpiry;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private GatewayFixture start() {
        Map<String, String> tokens = Map.of("reader-token", "reader", "writer-token", "writer", "short-token", "reader");
        return GatewayFixture.startWith(g -> g.authenticator(new GatewayAuthenticator() {
            @Override
            public Authentication authenticate(String token) throws AuthenticationException {
                if (token == null) {
                    return ANONYMOUS;
                }
                String name = tokens.get(token);
                if (name == null) {
                    throw new AuthenticationException(AuthenticationException.Reason.UNKNOWN_CREDENTIAL,
                            "credential not recognised");
                }
                long expires = token.equals("short-token") ? shortLivedExpiry : 0;
                return new Authentication(new Principal(name, Principal.TOKEN), expires);
            }

            @Override
            public AccessPolicy policy() {
                return POLICY;
            }
        }));
    }

    @Test
    void withoutACredentialAPublishIs401NamingTheOperationAndStream() {
        f = start();
        HttpResponse<String> r = f.post("/v1/streams/chat.1/messages", "x");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("www-authenticate").orElseThrow()).startsWith("Bearer");
        JsonNode e = GatewayFixture.json(r).get("error");
        assertThat(e.get("code").asText()).isEqualTo("AUTH_REQUIRED");
        assertThat(e.get("operation").asText()).isEqualTo("publish");
        assertThat(e.get("resource").asText()).isEqualTo("chat.1");
    }

    @Test
    void aBadTokenIs401AuthFailedWithoutEchoingIt() {
        f = start();
        HttpResponse<String> r = f.post("/v1/streams/chat.1/messages", "x", "Authorization", "Bearer s3cr3t-guess");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(GatewayFixture.json(r).at("/error/code").asText()).isEqualTo("AUTH_FAILED");
        assertThat(r.body()).doesNotContain("s3cr3t-guess");
        assertThat(r.headers().firstValue("www-authenticate").orElseThrow()).contains("invalid_token");
        assertThat(f.rejections("auth_failed")).isEqualTo(1);
    }

    @Test
    void aReaderMayReadButNotPublishNorReadAnotherStream() throws Exception {
        f = start();
        f.client.publish("chat.1", "hello".getBytes()).get(10, TimeUnit.SECONDS);
        HttpResponse<String> denied = f.post("/v1/streams/chat.1/messages", "x", "Authorization", "Bearer reader-token");
        assertThat(denied.statusCode()).isEqualTo(403);
        JsonNode e = GatewayFixture.json(denied).get("error");
        assertThat(e.get("code").asText()).isEqualTo("PERMISSION_DENIED");
        assertThat(e.get("message").asText()).isEqualTo("publish on 'chat.1' is not permitted for 'reader'");

        HttpResponse<String> read = f.send(java.net.http.HttpRequest.newBuilder(f.uri("/v1/streams/chat.1/messages?encoding=text"))
                .header("Authorization", "Bearer reader-token").build());
        assertThat(read.statusCode()).isEqualTo(200);
        assertThat(GatewayFixture.json(read).at("/messages/0/data").asText()).isEqualTo("hello");

        HttpResponse<String> other = f.send(java.net.http.HttpRequest.newBuilder(f.uri("/v1/streams/blocks/messages"))
                .header("Authorization", "Bearer reader-token").build());
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(f.rejections("permission_denied")).isEqualTo(2);
    }

    @Test
    void aWriterPublishesAndRequestsOnlyWhereAllowed() {
        f = start();
        assertThat(f.post("/v1/streams/chat.2/messages", "x", "Authorization", "Bearer writer-token").statusCode())
                .isEqualTo(200);
        assertThat(f.post("/v1/requests/other", "x", "Authorization", "bearer writer-token").statusCode())
                .isEqualTo(403);
        assertThat(f.get("/v1/streams/chat.2").statusCode()).as("stream info is admin").isEqualTo(401);
    }

    @Test
    void sseTakesTheTokenFromTheQueryAndChecksTheStream() throws Exception {
        f = start();
        f.client.publish("chat.sse", "one".getBytes()).get(10, TimeUnit.SECONDS);
        try (SseEvents events = SseEvents.open(f.http, f.uri("/v1/streams/chat.sse/events?from=1&token=reader-token"))) {
            assertThat(events.response.statusCode()).isEqualTo(200);
            assertThat(events.next().data()).isEqualTo("one");
        }
        HttpResponse<String> other = f.get("/v1/streams/secret/events?from=1&token=reader-token");
        assertThat(other.statusCode()).isEqualTo(403);
        assertThat(f.get("/v1/streams/chat.sse/events?from=1").statusCode()).isEqualTo(401);
    }

    @Test
    void theWebSocketTakesTheTokenAsASubprotocolAndChecksEachOperation() throws Exception {
        f = start();
        f.client.publish("chat.ws", "one".getBytes()).get(10, TimeUnit.SECONDS);
        try (WsClient ws = WsClient.connectOffering(f, "wirebus.v1", "bearer.reader-token")) {
            assertThat(ws.subprotocol()).as("the token is never echoed").isEqualTo("wirebus.v1");
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"chat.ws\",\"from\":1}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            assertThat(ws.next().get("data").asText()).isEqualTo("one");

            ws.send("{\"op\":\"subscribe\",\"id\":\"b\",\"stream\":\"secret\",\"from\":1}");
            JsonNode denied = ws.next();
            assertThat(denied.get("code").asText()).isEqualTo("PERMISSION_DENIED");
            assertThat(denied.get("id").asText()).isEqualTo("b");
            assertThat(denied.get("stream").asText()).isEqualTo("secret");

            ws.send("{\"op\":\"publish\",\"id\":\"c\",\"stream\":\"chat.ws\",\"data\":\"x\"}");
            assertThat(ws.next().get("code").asText()).isEqualTo("PERMISSION_DENIED");

            ws.send("{\"op\":\"auth\",\"id\":\"d\",\"token\":\"writer-token\"}");
            JsonNode authed = ws.next();
            assertThat(authed.get("type").asText()).isEqualTo("authenticated");
            assertThat(authed.get("principal").asText()).isEqualTo("writer");
            ws.send("{\"op\":\"publish\",\"id\":\"e\",\"stream\":\"chat.ws\",\"data\":\"two\"}");
            JsonNode next = ws.next();
            if ("message".equals(next.get("type").asText())) {
                next = ws.next(); // the published message may come before its ack
            }
            assertThat(next.get("type").asText()).isEqualTo("ack");
        }
    }

    @Test
    void anAnonymousWebSocketIsRefusedPerOperationNotAtTheHandshake() {
        f = start();
        try (WsClient ws = WsClient.connect(f)) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"chat.1\"}");
            assertThat(ws.next().get("code").asText()).isEqualTo("AUTH_REQUIRED");
        }
    }

    @Test
    void aBadTokenRefusesTheWebSocketHandshakeWith401() {
        f = start();
        try (RawHttp c = RawHttp.connect(f.gateway.port())) {
            c.write("GET /v1/ws?token=nope HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            assertThat(c.readResponse().status()).isEqualTo(401);
        }
    }

    @Test
    void aWebSocketWhoseCredentialExpiresIsToldAndClosed() throws Exception {
        f = start();
        shortLivedExpiry = System.currentTimeMillis() + 1000;
        try (WsClient ws = WsClient.connectOffering(f, "wirebus.v1", "bearer.short-token")) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"chat.exp\",\"from\":\"end\"}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            JsonNode expired = ws.next();
            assertThat(expired.get("code").asText()).isEqualTo("AUTH_EXPIRED");
            assertThat(ws.closedWith.get(10, TimeUnit.SECONDS)).isEqualTo(4401);
        }
    }
}
