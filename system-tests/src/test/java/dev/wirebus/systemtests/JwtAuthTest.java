package dev.wirebus.systemtests;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertDenied;
import static dev.wirebus.systemtests.SecurityFixtures.assertError;
import static dev.wirebus.systemtests.SecurityFixtures.auth;
import static dev.wirebus.systemtests.SecurityFixtures.publish;
import static dev.wirebus.systemtests.SecurityFixtures.subscribe;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Short-lived JWTs minted by a backend for one browser session: the token's claim grants its own
 * session's stream only; a token that expires mid-connection closes the connection with
 * AUTH_EXPIRED (the documented behaviour) unless a fresh AUTH came; expired, not-yet-valid,
 * wrong-audience and badly signed tokens fail AUTH and close the connection.
 */
class JwtAuthTest {
    private static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;
    private EmbeddedBroker broker;

    @BeforeEach
    void start() throws Exception {
        Files.write(dir.resolve("hs256.secret"), SECRET);
        broker = EmbeddedBroker.start(b -> {
            try {
                b.security(SecurityFixtures.parse(dir, """
                        [security.jwt]
                        audience = "wirebus"
                        secret-file = "hs256.secret"
                        clock-skew = "0s"
                        """));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    static String token(String sub, long expMillis, String audience, Map<String, Object> grants, byte[] key)
            throws Exception {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(sub).audience(audience)
                .expirationTime(new Date(expMillis));
        if (grants != null) {
            claims.claim("wirebus", grants);
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims.build());
        jwt.sign(new MACSigner(key));
        return jwt.serialize();
    }

    static Map<String, Object> readOnly(String stream) {
        return Map.of("read", List.of(stream));
    }

    @ParameterizedTest
    @EnumSource(EmbeddedBroker.Transport.class)
    void aSessionTokenReadsItsOwnStreamAndNoOther(EmbeddedBroker.Transport transport) throws Exception {
        String jwt = token("browser-42", System.currentTimeMillis() + 600_000, "wirebus",
                readOnly("chat.session-42"), SECRET);
        try (RawConnection c = RawConnection.handshaken(broker, transport, 2)) {
            c.send(auth(1, jwt));
            Frame ok = c.read(WAIT);
            assertThat(ok).isInstanceOf(Frame.AuthOk.class);
            assertThat(((Frame.AuthOk) ok).principal()).isEqualTo("browser-42");
            assertThat(((Frame.AuthOk) ok).expiresAtMillis()).isPositive();
            c.send(subscribe(2, 1, "chat.session-42"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            c.send(subscribe(3, 2, "chat.session-43"));
            assertDenied(c.read(WAIT), 3, "read", "chat.session-43");
            c.send(publish(4, "chat.session-42"));
            assertDenied(c.read(WAIT), 4, "publish", "chat.session-42");
        }
    }

    @Test
    void aTokenThatExpiresMidConnectionClosesItWithAuthExpired() throws Exception {
        // exp is in whole seconds: now + 2 s is at least 1 s ahead
        String jwt = token("browser-1", System.currentTimeMillis() + 2000, "wirebus", readOnly("chat.session-1"),
                SECRET);
        try (RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            c.send(auth(1, jwt));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.AuthOk.class);
            c.send(subscribe(2, 1, "chat.session-1"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            // nothing else is sent: the broker closes the connection at the token's exp
            Frame f = c.read(WAIT);
            assertError(f, ErrorCode.AUTH_EXPIRED);
            assertThat(f.requestId()).isZero();
            assertThat(c.closedByPeer(WAIT)).isTrue();
        }
    }

    @Test
    void aFreshTokenBeforeExpiryKeepsTheConnection() throws Exception {
        long now = System.currentTimeMillis();
        // exp is in whole seconds: now + 3 s is at least 2 s ahead
        String first = token("browser-1", now + 3000, "wirebus", readOnly("chat.session-1"), SECRET);
        String fresh = token("browser-1", now + 600_000, "wirebus", readOnly("chat.session-1"), SECRET);
        try (RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            c.send(auth(1, first));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.AuthOk.class);
            c.send(auth(2, fresh));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.AuthOk.class);
            // past the first token's exp (and then some) the connection is still open and serves
            assertThat(c.closedByPeer(Duration.ofMillis(Math.max(0, now + 4000 - System.currentTimeMillis()))))
                    .isFalse();
            c.send(new Frame.Fetch(3, "chat.session-1", 1, 1));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Fetched.class);
        }
    }

    @Test
    void expiredWrongAudienceAndBadlySignedTokensFailAndClose() throws Exception {
        long now = System.currentTimeMillis();
        byte[] otherKey = "another-key-another-key-another-k".getBytes(StandardCharsets.US_ASCII);
        Map<String, String> cases = Map.of(
                "expired", token("b", now - 60_000, "wirebus", null, SECRET),
                "wrong audience", token("b", now + 60_000, "another-service", null, SECRET),
                "bad signature", token("b", now + 60_000, "wirebus", null, otherKey));
        for (Map.Entry<String, String> e : cases.entrySet()) {
            try (RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
                c.send(auth(7, e.getValue()));
                Frame f = c.read(WAIT);
                assertThat(f).as(e.getKey()).isInstanceOf(Frame.Error.class);
                assertThat(((Frame.Error) f).code()).as(e.getKey()).isEqualTo(ErrorCode.AUTH_FAILED.code());
                assertThat(f.requestId()).isEqualTo(7);
                assertThat(((Frame.Error) f).message()).as(e.getKey()).doesNotContain(e.getValue());
                assertThat(c.closedByPeer(WAIT)).as(e.getKey()).isTrue();
            }
        }
    }

    @Test
    void aTokenNotYetValidFails() throws Exception {
        long now = System.currentTimeMillis();
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject("b")
                .audience("wirebus").expirationTime(new Date(now + 600_000)).notBeforeTime(new Date(now + 300_000))
                .build());
        jwt.sign(new MACSigner(SECRET));
        try (RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.UNIX, 2)) {
            c.send(auth(1, jwt.serialize()));
            Frame f = c.read(WAIT);
            assertError(f, ErrorCode.AUTH_FAILED);
            assertThat(((Frame.Error) f).message()).contains("not valid before");
        }
    }
}
