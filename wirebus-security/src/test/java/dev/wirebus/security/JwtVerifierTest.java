package dev.wirebus.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JwtVerifierTest {
    /** A fixed "now": the verifier's clock, so no test depends on when it runs. */
    private static final long NOW = 1_800_000_000_000L;
    private static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    private JwtVerifier hmac() throws Exception {
        Path secret = dir.resolve("hs256.secret");
        Files.write(secret, (new String(SECRET, StandardCharsets.US_ASCII) + "\n").getBytes(StandardCharsets.US_ASCII));
        return JwtVerifier.hmacSecret(secret, "wirebus", null, Duration.ofSeconds(30), () -> NOW);
    }

    static JWTClaimsSet.Builder claims(String sub, long expMillis) {
        return new JWTClaimsSet.Builder().subject(sub).audience("wirebus").expirationTime(new Date(expMillis));
    }

    static String sign(JWSSigner signer, JWSAlgorithm alg, JWTClaimsSet claims) throws JOSEException {
        SignedJWT jwt = new SignedJWT(new JWSHeader(alg), claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    @Test
    void acceptsAnHs256TokenAndTakesItsPermissionsFromTheWirebusClaim() throws Exception {
        String token = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("browser-7", NOW + 60_000)
                .claim("wirebus", Map.of("read", List.of("chat.session-7"), "publish", List.of("chat.session-7.in")))
                .build());
        Authentication a = hmac().verify(token);
        assertThat(a.principal().name()).isEqualTo("browser-7");
        assertThat(a.principal().mechanism()).isEqualTo(Principal.JWT);
        assertThat(a.expiresAtMillis()).isEqualTo(NOW + 60_000);
        assertThat(a.principal().carried().allows(Operation.READ, "chat.session-7")).isTrue();
        assertThat(a.principal().carried().allows(Operation.READ, "chat.session-8")).isFalse();
        assertThat(a.principal().carried().allows(Operation.PUBLISH, "chat.session-7.in")).isTrue();
    }

    @Test
    void refusesAnExpiredToken() throws Exception {
        String token = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("b", NOW - 31_000).build());
        assertReason(() -> hmac().verify(token), AuthenticationException.Reason.EXPIRED);
    }

    @Test
    void toleratesTheClockSkewAtExpiry() throws Exception {
        String token = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("b", NOW - 29_000).build());
        assertThat(hmac().verify(token).principal().name()).isEqualTo("b");
    }

    @Test
    void refusesATokenBeforeItsNotBeforeTime() throws Exception {
        String token = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("b", NOW + 600_000)
                .notBeforeTime(new Date(NOW + 120_000)).build());
        assertReason(() -> hmac().verify(token), AuthenticationException.Reason.NOT_YET_VALID);
    }

    @Test
    void refusesATokenForAnotherAudience() throws Exception {
        String token = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("b", NOW + 60_000)
                .audience("another-service").build());
        assertReason(() -> hmac().verify(token), AuthenticationException.Reason.WRONG_AUDIENCE);
    }

    @Test
    void refusesATokenWithoutAudienceOrExpiry() throws Exception {
        String noAud = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, new JWTClaimsSet.Builder().subject("b")
                .expirationTime(new Date(NOW + 60_000)).build());
        assertReason(() -> hmac().verify(noAud), AuthenticationException.Reason.WRONG_AUDIENCE);
        String noExp = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, new JWTClaimsSet.Builder().subject("b")
                .audience("wirebus").build());
        assertReason(() -> hmac().verify(noExp), AuthenticationException.Reason.MALFORMED);
    }

    @Test
    void refusesABadSignature() throws Exception {
        byte[] other = "another-secret-another-secret-xx".getBytes(StandardCharsets.US_ASCII);
        String token = sign(new MACSigner(other), JWSAlgorithm.HS256, claims("b", NOW + 60_000).build());
        assertReason(() -> hmac().verify(token), AuthenticationException.Reason.BAD_SIGNATURE);
        // a valid token with one character of its signature changed
        String good = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("b", NOW + 60_000).build());
        char last = good.charAt(good.length() - 2);
        String tampered = good.substring(0, good.length() - 2) + (last == 'A' ? 'B' : 'A') + good.charAt(good.length() - 1);
        assertReason(() -> hmac().verify(tampered), AuthenticationException.Reason.BAD_SIGNATURE);
    }

    @Test
    void refusesAnAlgorithmNotAccepted() throws Exception {
        byte[] longSecret = new byte[64];
        System.arraycopy(SECRET, 0, longSecret, 0, 32);
        String token = sign(new MACSigner(longSecret), JWSAlgorithm.HS512, claims("b", NOW + 60_000).build());
        assertReason(() -> hmac().verify(token), AuthenticationException.Reason.BAD_SIGNATURE);
        // "alg": "none" is not a JWS at all for the processor
        String header = Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8));
        String body = Base64.getUrlEncoder().withoutPadding().encodeToString(claims("b", NOW + 60_000).build()
                .toString().getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> hmac().verify(header + "." + body + "."))
                .isInstanceOf(AuthenticationException.class);
    }

    @Test
    void verifiesRs256WithAPemPublicKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        KeyPair kp = g.generateKeyPair();
        Path pem = dir.resolve("rsa.pem");
        Files.writeString(pem, "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(kp.getPublic().getEncoded())
                + "\n-----END PUBLIC KEY-----\n");
        JwtVerifier v = JwtVerifier.publicKeys(pem, "wirebus", "issuer-a", Duration.ZERO, () -> NOW);
        String token = sign(new RSASSASigner(kp.getPrivate()), JWSAlgorithm.RS256, claims("svc", NOW + 1000)
                .issuer("issuer-a").build());
        assertThat(v.verify(token).principal().name()).isEqualTo("svc");
        String wrongIssuer = sign(new RSASSASigner(kp.getPrivate()), JWSAlgorithm.RS256, claims("svc", NOW + 1000)
                .issuer("issuer-b").build());
        assertReason(() -> v.verify(wrongIssuer), AuthenticationException.Reason.WRONG_ISSUER);
    }

    @Test
    void verifiesEs256WithAJwkSetFile() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        ECKey pub = new ECKey.Builder(Curve.P_256, (ECPublicKey) kp.getPublic()).keyID("k1").build();
        Path jwks = dir.resolve("jwks.json");
        Files.writeString(jwks, new JWKSet(pub).toString());
        JwtVerifier v = JwtVerifier.publicKeys(jwks, "wirebus", null, Duration.ZERO, () -> NOW);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("k1").build(),
                claims("svc", NOW + 1000).build());
        jwt.sign(new ECDSASigner((ECPrivateKey) kp.getPrivate()));
        assertThat(v.verify(jwt.serialize()).principal().name()).isEqualTo("svc");
    }

    @Test
    void refusesAKeyFileWithAPrivateKey() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        ECKey full = new ECKey.Builder(Curve.P_256, (ECPublicKey) kp.getPublic())
                .privateKey((ECPrivateKey) kp.getPrivate()).build();
        Path jwks = dir.resolve("private.json");
        Files.writeString(jwks, new JWKSet(full).toString(false));
        assertThatThrownBy(() -> JwtVerifier.publicKeys(jwks, "wirebus", null, Duration.ZERO, () -> NOW))
                .hasMessageContaining("private key");
    }

    @Test
    void refusesAShortHmacSecret() throws Exception {
        Path secret = dir.resolve("short.secret");
        Files.writeString(secret, "too-short\n");
        assertThatThrownBy(() -> JwtVerifier.hmacSecret(secret, "wirebus", null, Duration.ZERO, () -> NOW))
                .hasMessageContaining("at least 32");
    }

    @Test
    void authenticatorTriesJwtsAfterStaticTokens() throws Exception {
        Authenticator a = new Authenticator(Map.of(), hmac());
        String token = sign(new MACSigner(SECRET), JWSAlgorithm.HS256, claims("b", NOW + 60_000).build());
        assertThat(a.authenticate("bearer", token.getBytes(StandardCharsets.UTF_8)).principal().name()).isEqualTo("b");
        assertReason(() -> a.authenticate("bearer", "not-a-jwt".getBytes(StandardCharsets.UTF_8)),
                AuthenticationException.Reason.UNKNOWN_CREDENTIAL);
    }

    interface Call {
        Object run() throws Exception;
    }

    static void assertReason(Call call, AuthenticationException.Reason reason) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(AuthenticationException.class,
                e -> assertThat(e.reason()).isEqualTo(reason));
    }
}
