package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.wirebus.security.AccessRules;
import dev.wirebus.security.Authenticator;
import dev.wirebus.security.JwtVerifier;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Permissions;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.TokenHash;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gateway with the security module's configuration: a short-lived JWT minted here (HS256) whose
 * {@code wirebus} claim lets one browser session read its own stream and nothing else; wrong audience
 * and expiry refused 401 with their reason; a static token of a configured principal; a reload of the
 * configuration applies to the next request.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GatewayJwtTest {
    static final byte[] SECRET = "0123456789abcdef0123456789abcdef-test-secret".getBytes(StandardCharsets.UTF_8);

    private GatewayFixture f;
    private final AtomicReference<SecurityConfig> config = new AtomicReference<>();

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    static SecurityConfig config(Map<String, Permissions> rules) {
        JwtVerifier jwt = JwtVerifier.of(new JWKSet(new OctetSequenceKey.Builder(SECRET).build()), "wirebus", null,
                Duration.ZERO, System::currentTimeMillis);
        return SecurityConfig.of(AccessRules.of(rules),
                new Authenticator(Map.of(TokenHash.of("observer-secret"), "observer"), jwt));
    }

    static String mint(String subject, String audience, long expiresAtMillis, Map<String, Object> permissions) {
        try {
            JWTClaimsSet claims = new JWTClaimsSet.Builder().subject(subject).audience(audience)
                    .expirationTime(new Date(expiresAtMillis)).claim("wirebus", permissions).build();
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
            jwt.sign(new MACSigner(SECRET));
            return jwt.serialize();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    private HttpResponse<String> read(String stream, String token) {
        return f.send(HttpRequest.newBuilder(f.uri("/v1/streams/" + stream + "/messages?encoding=text"))
                .header("Authorization", "Bearer " + token).build());
    }

    @Test
    void aShortLivedJwtReadsItsSessionsStreamAndNotAnother() throws Exception {
        config.set(config(Map.of()));
        f = GatewayFixture.startWith(g -> g.authenticator(GatewayAuthenticator.of(config::get)));
        f.client.publish("chat.session-42", "hi 42".getBytes()).get(10, TimeUnit.SECONDS);
        f.client.publish("chat.session-43", "hi 43".getBytes()).get(10, TimeUnit.SECONDS);
        String token = mint("browser-42", "wirebus", System.currentTimeMillis() + 60_000,
                Map.of("read", List.of("chat.session-42")));

        HttpResponse<String> own = read("chat.session-42", token);
        assertThat(own.statusCode()).isEqualTo(200);
        assertThat(GatewayFixture.json(own).at("/messages/0/data").asText()).isEqualTo("hi 42");

        HttpResponse<String> other = read("chat.session-43", token);
        assertThat(other.statusCode()).isEqualTo(403);
        JsonNode e = GatewayFixture.json(other).get("error");
        assertThat(e.get("message").asText()).isEqualTo("read on 'chat.session-43' is not permitted for 'browser-42'");
        assertThat(other.body()).doesNotContain("chat.session-42");

        assertThat(f.post("/v1/streams/chat.session-42/messages", "x", "Authorization", "Bearer " + token).statusCode())
                .as("read only").isEqualTo(403);
    }

    @Test
    void aJwtForAnotherAudienceOrExpiredIs401WithItsReason() {
        config.set(config(Map.of()));
        f = GatewayFixture.startWith(g -> g.authenticator(GatewayAuthenticator.of(config::get)));
        Map<String, Object> read = Map.of("read", List.of("chat.session-42"));

        HttpResponse<String> wrongAudience = read("chat.session-42",
                mint("browser-42", "another-service", System.currentTimeMillis() + 60_000, read));
        assertThat(wrongAudience.statusCode()).isEqualTo(401);
        assertThat(GatewayFixture.json(wrongAudience).at("/error/reason").asText()).isEqualTo("wrong-audience");

        HttpResponse<String> expired = read("chat.session-42",
                mint("browser-42", "wirebus", System.currentTimeMillis() - 60_000, read));
        assertThat(expired.statusCode()).isEqualTo(401);
        assertThat(GatewayFixture.json(expired).at("/error/reason").asText()).isEqualTo("expired");
    }

    @Test
    void aStaticTokenOfAConfiguredPrincipalAndAReloadThatTakesItsRightAway() {
        config.set(config(Map.of("observer", Permissions.builder().allow(Operation.READ, "blocks").build())));
        f = GatewayFixture.startWith(g -> g.authenticator(GatewayAuthenticator.of(config::get)));
        assertThat(read("blocks", "observer-secret").statusCode()).isEqualTo(200);
        assertThat(f.post("/v1/streams/blocks/messages", "b", "Authorization", "Bearer observer-secret").statusCode())
                .isEqualTo(403);

        config.set(config(Map.of("observer", Permissions.NONE)));
        assertThat(read("blocks", "observer-secret").statusCode()).isEqualTo(403);
    }

    @Test
    void aReloadThatRevokesReadEndsOpenWebSocketAndSseSubscriptions() throws Exception {
        config.set(config(Map.of("observer", Permissions.builder().allow(Operation.READ, "blocks").build())));
        f = GatewayFixture.startWith(l -> l.keepAliveInterval(Duration.ofMillis(100)), b -> { },
                b -> b.client(dev.wirebus.testing.EmbeddedBroker.Transport.UNIX).name("gateway").connect(),
                g -> g.authenticator(GatewayAuthenticator.of(config::get)));
        f.client.publish("blocks", "b1".getBytes()).get(10, TimeUnit.SECONDS);
        try (WsClient ws = WsClient.connectOffering(f, "wirebus.v1", "bearer.observer-secret");
             SseEvents sse = SseEvents.open(f.http, f.uri("/v1/streams/blocks/events?from=1&token=observer-secret"))) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"a\",\"stream\":\"blocks\",\"from\":1}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            assertThat(ws.next().get("data").asText()).isEqualTo("b1");
            assertThat(sse.next().data()).isEqualTo("b1");

            config.set(config(Map.of("observer", Permissions.NONE)));

            JsonNode ended = ws.next();
            assertThat(ended.get("code").asText()).isEqualTo("PERMISSION_DENIED");
            assertThat(ended.get("stream").asText()).isEqualTo("blocks");
            SseEvents.Event last = sse.next();
            assertThat(last.event()).isEqualTo("wirebus-error");
            assertThat(last.data()).contains("PERMISSION_DENIED");
        }
    }
}
