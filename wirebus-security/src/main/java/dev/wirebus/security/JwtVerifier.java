package dev.wirebus.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.JWTClaimsSetVerifier;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Verifies signed JWTs (HS256, RS256, ES256) with nimbus-jose-jwt and turns their claims into an
 * {@link Authentication}: {@code sub} is the principal's name, {@code exp} (required) its expiry,
 * {@code nbf} and {@code aud} (must contain the configured audience) are checked, {@code iss}
 * too when an issuer is configured, all with the configured clock skew. The optional claim
 * {@code wirebus} carries permissions, an object of operation words to pattern lists:
 *
 * <pre>{@code
 * {"sub": "browser-7f3a", "aud": "wirebus", "exp": 1767225600,
 *  "wirebus": {"read": ["chat.session-42"], "publish": ["chat.session-42.in"]}}
 * }</pre>
 *
 * Keys come from one file: a JWK set or a single JWK (JSON), a PEM public key
 * ({@code BEGIN PUBLIC KEY}, RSA or EC P-256) or certificate, or, with {@link #hmacSecret}, a file
 * holding an HS256 secret of at least 32 bytes.
 *
 * <p>Immutable and thread-safe; a configuration reload builds a new verifier.
 */
public final class JwtVerifier {
    private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.HS256, JWSAlgorithm.RS256,
            JWSAlgorithm.ES256);

    private final DefaultJWTProcessor<SecurityContext> processor;
    private final String audience;
    private final String issuer;
    private final long skewMillis;
    private final LongSupplier clock;

    private JwtVerifier(JWKSet keys, String audience, String issuer, Duration skew, LongSupplier clock) {
        if (audience == null || audience.isBlank()) {
            throw new IllegalArgumentException("a JWT audience is required: tokens minted for another service must"
                    + " not be accepted here");
        }
        this.audience = audience;
        this.issuer = issuer;
        this.skewMillis = skew.toMillis();
        this.clock = clock;
        this.processor = new DefaultJWTProcessor<>();
        processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, new ImmutableJWKSet<>(keys)));
        processor.setJWTClaimsSetVerifier(new ClaimsCheck());
    }

    /**
     * A verifier with the public keys (or JWK set) in {@code keyFile}.
     *
     * @throws IllegalArgumentException naming the file when it holds no usable key
     */
    public static JwtVerifier publicKeys(Path keyFile, String audience, String issuer, Duration skew,
                                         LongSupplier clock) {
        return new JwtVerifier(readKeys(keyFile), audience, issuer, skew, clock);
    }

    /**
     * A verifier of HS256 tokens signed with the secret in {@code secretFile} (its bytes, a final
     * newline dropped; at least 32 bytes).
     */
    public static JwtVerifier hmacSecret(Path secretFile, String audience, String issuer, Duration skew,
                                         LongSupplier clock) {
        byte[] secret = readSecret(secretFile);
        return new JwtVerifier(new JWKSet(new OctetSequenceKey.Builder(secret).build()), audience, issuer, skew,
                clock);
    }

    /** A verifier of the given keys (tests and embedders). */
    public static JwtVerifier of(JWKSet keys, String audience, String issuer, Duration skew, LongSupplier clock) {
        return new JwtVerifier(keys, audience, issuer, skew, clock);
    }

    /** Whether {@code credential} has the shape of a JWS compact serialisation (three dot-separated parts). */
    public static boolean looksLikeJwt(String credential) {
        int first = credential.indexOf('.');
        return first > 0 && credential.indexOf('.', first + 1) > first + 1
                && credential.indexOf('.', credential.indexOf('.', first + 1) + 1) < 0;
    }

    /**
     * The authentication a JWT stands for.
     *
     * @throws AuthenticationException with the reason it is refused
     */
    public Authentication verify(String jwt) throws AuthenticationException {
        JWTClaimsSet claims;
        try {
            claims = processor.process(jwt, null);
        } catch (ParseException e) {
            throw new AuthenticationException(AuthenticationException.Reason.MALFORMED, "not a signed JWT");
        } catch (Refused e) {
            throw new AuthenticationException(e.reason, e.getMessage());
        } catch (BadJOSEException | JOSEException e) {
            throw new AuthenticationException(AuthenticationException.Reason.BAD_SIGNATURE,
                    "JWT signature does not verify with the configured keys, or its algorithm is not accepted"
                            + " (HS256, RS256, ES256)");
        }
        Permissions carried;
        try {
            carried = permissions(claims.getJSONObjectClaim("wirebus"));
        } catch (ParseException | IllegalArgumentException | ClassCastException e) {
            throw new AuthenticationException(AuthenticationException.Reason.MALFORMED,
                    "JWT claim 'wirebus' is not an object of operation names to pattern lists: " + e.getMessage());
        }
        Principal principal = new Principal(claims.getSubject(), Principal.JWT, carried);
        return new Authentication(principal, claims.getExpirationTime().getTime());
    }

    /** The permissions of a {@code wirebus} claim: {"read": ["a", "b.*"], ...}. */
    static Permissions permissions(Map<String, Object> claim) {
        if (claim == null) {
            return Permissions.NONE;
        }
        Permissions.Builder b = Permissions.builder();
        for (Map.Entry<String, Object> e : claim.entrySet()) {
            Operation op = operation(e.getKey());
            if (!(e.getValue() instanceof List<?> list)) {
                throw new IllegalArgumentException("'" + e.getKey() + "' must be a list of patterns");
            }
            List<String> patterns = new ArrayList<>();
            for (Object o : list) {
                if (!(o instanceof String s)) {
                    throw new IllegalArgumentException("'" + e.getKey() + "' must be a list of strings");
                }
                patterns.add(s);
            }
            b.allow(op, patterns);
        }
        return b.build();
    }

    /** The operation named by a configuration or claim word ("publish", "read", ...). */
    static Operation operation(String word) {
        for (Operation op : Operation.values()) {
            if (op.word().equals(word.toLowerCase(Locale.ROOT))) {
                return op;
            }
        }
        throw new IllegalArgumentException("unknown operation '" + word
                + "' (publish, read, consume, request, respond, admin)");
    }

    /** A claims problem with its reason; nimbus passes it through {@link DefaultJWTProcessor#process}. */
    private static final class Refused extends BadJWTException {
        private static final long serialVersionUID = 1L;
        final transient AuthenticationException.Reason reason;

        Refused(AuthenticationException.Reason reason, String message) {
            super(message);
            this.reason = reason;
        }
    }

    private final class ClaimsCheck implements JWTClaimsSetVerifier<SecurityContext> {
        @Override
        public void verify(JWTClaimsSet claims, SecurityContext context) throws BadJWTException {
            long now = clock.getAsLong();
            String sub = claims.getSubject();
            if (sub == null || sub.isBlank()) {
                throw new Refused(AuthenticationException.Reason.MALFORMED, "JWT has no 'sub' claim");
            }
            Date exp = claims.getExpirationTime();
            if (exp == null) {
                throw new Refused(AuthenticationException.Reason.MALFORMED, "JWT has no 'exp' claim");
            }
            if (now > exp.getTime() + skewMillis) {
                throw new Refused(AuthenticationException.Reason.EXPIRED, "JWT expired at " + exp.toInstant());
            }
            Date nbf = claims.getNotBeforeTime();
            if (nbf != null && now + skewMillis < nbf.getTime()) {
                throw new Refused(AuthenticationException.Reason.NOT_YET_VALID, "JWT not valid before "
                        + nbf.toInstant());
            }
            List<String> aud = claims.getAudience();
            if (aud == null || !aud.contains(audience)) {
                throw new Refused(AuthenticationException.Reason.WRONG_AUDIENCE, "JWT audience is not '" + audience
                        + "'");
            }
            if (issuer != null && !issuer.equals(claims.getIssuer())) {
                throw new Refused(AuthenticationException.Reason.WRONG_ISSUER, "JWT issuer is not '" + issuer + "'");
            }
        }
    }

    // ------------------------------------------------------------------ key files

    private static JWKSet readKeys(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read JWT key file " + file + ": " + e.getMessage(), e);
        }
        try {
            if (text.startsWith("{")) {
                Map<String, Object> json = com.nimbusds.jose.util.JSONObjectUtils.parse(text);
                JWKSet set = json.containsKey("keys") ? JWKSet.parse(json) : new JWKSet(JWK.parse(json));
                if (set.getKeys().isEmpty()) {
                    throw new IllegalArgumentException("JWT key file " + file + " holds an empty key set");
                }
                for (JWK k : set.getKeys()) {
                    if (k.isPrivate()) {
                        throw new IllegalArgumentException("JWT key file " + file + " holds a private key ('"
                                + k.getKeyID() + "'); give the broker public keys only");
                    }
                }
                return set;
            }
            if (text.contains("-----BEGIN CERTIFICATE-----")) {
                java.security.cert.Certificate cert = CertificateFactory.getInstance("X.509")
                        .generateCertificate(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)));
                return new JWKSet(jwk(cert.getPublicKey(), file));
            }
            if (text.contains("-----BEGIN PUBLIC KEY-----")) {
                String b64 = text.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
                byte[] der = Base64.getDecoder().decode(b64);
                return new JWKSet(jwk(publicKey(der, file), file));
            }
        } catch (ParseException | CertificateException | IllegalStateException e) {
            throw new IllegalArgumentException("JWT key file " + file + ": " + e.getMessage());
        }
        throw new IllegalArgumentException("JWT key file " + file + " holds neither a JWK set (JSON), a PEM"
                + " public key nor a PEM certificate");
    }

    private static PublicKey publicKey(byte[] der, Path file) {
        for (String alg : new String[] {"RSA", "EC"}) {
            try {
                return KeyFactory.getInstance(alg).generatePublic(new X509EncodedKeySpec(der));
            } catch (java.security.GeneralSecurityException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException("JWT key file " + file + ": a public key neither RSA nor EC");
    }

    private static JWK jwk(PublicKey key, Path file) {
        if (key instanceof RSAPublicKey rsa) {
            return new RSAKey.Builder(rsa).build();
        }
        if (key instanceof ECPublicKey ec) {
            Curve curve = Curve.forECParameterSpec(ec.getParams());
            if (!Curve.P_256.equals(curve)) {
                throw new IllegalArgumentException("JWT key file " + file + ": ES256 needs a P-256 key, not " + curve);
            }
            return new ECKey.Builder(curve, ec).build();
        }
        throw new IllegalArgumentException("JWT key file " + file + ": a " + key.getAlgorithm()
                + " key; RSA or EC P-256 expected");
    }

    private static byte[] readSecret(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read JWT secret file " + file + ": " + e.getMessage(), e);
        }
        int n = bytes.length;
        while (n > 0 && (bytes[n - 1] == '\n' || bytes[n - 1] == '\r')) {
            n--;
        }
        if (n < 32) {
            throw new IllegalArgumentException("JWT secret file " + file + " holds " + n
                    + " bytes; HS256 needs at least 32");
        }
        return java.util.Arrays.copyOf(bytes, n);
    }
}
