package dev.wirebus.gateway;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.security.AccessRules;
import dev.wirebus.security.Authenticator;
import dev.wirebus.security.JwtVerifier;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.testing.EmbeddedBroker;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gateway in a real browser (Debian's chromium): {@code browser-tests/security.mjs} shows that a
 * page of a foreign origin cannot open the WebSocket nor publish, and that a page holding a
 * short-lived JWT (minted by the script, HS256) reads its own stream over the WebSocket and
 * EventSource and is refused another.
 */
class BrowserSecurityTest {
    private static final String SECRET = "browser-test-secret-0123456789abcdef";

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void aForeignOriginGetsNothingAndAShortLivedTokenReadsOnlyItsStream() throws Exception {
        JwtVerifier jwt = JwtVerifier.of(new JWKSet(new OctetSequenceKey.Builder(
                SECRET.getBytes(StandardCharsets.UTF_8)).build()), "wirebus", null, Duration.ofSeconds(5),
                System::currentTimeMillis);
        SecurityConfig config = SecurityConfig.of(AccessRules.of(Map.of()), new Authenticator(Map.of(), jwt));
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient client = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway").connect();
             Gateway gateway = Gateway.builder().client(client).bind("127.0.0.1", 0)
                     .authenticator(GatewayAuthenticator.of(() -> config)).build().start()) {
            for (String m : List.of("m1", "m2", "m3")) {
                client.publish("chat.session-42", m.getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            }
            client.publish("chat.session-43", "secret".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            BrowserScript.Result r = BrowserScript.run("security.mjs", List.of("http://127.0.0.1:" + gateway.port()),
                    Map.of("WIREBUS_JWT_SECRET", SECRET), line -> null);
            assertThat(r.finished()).as("security.mjs finished; its output:%n%s", r.output()).isTrue();
            assertThat(r.exitCode()).as("security.mjs exit code; its output:%n%s", r.output()).isZero();
            assertThat(client.fetch("csrf", 1, 10).get(10, TimeUnit.SECONDS).messages()).isEmpty();
        }
    }
}
