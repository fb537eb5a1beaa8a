package dev.wirebus.security;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TokenHashTest {

    @Test
    void hashIsSha256InLowerCaseHexWithItsPrefix() {
        // the SHA-256 of "test", as sha256sum prints it
        assertThat(TokenHash.of("test"))
                .isEqualTo("sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    }

    @Test
    void canonicalFormAcceptsUpperCaseAndNoPrefix() {
        assertThat(TokenHash.canonical("9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"))
                .isEqualTo(TokenHash.of("test"));
    }

    @Test
    void aTokenInClearIsRefusedWithoutBeingRepeated() {
        assertThatThrownBy(() -> TokenHash.canonical("my-secret-token"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("my-secret-token")
                .hasMessageContaining("64 hex digits");
    }

    @Test
    void authenticatorFindsThePrincipalOfAToken() throws Exception {
        Authenticator a = new Authenticator(Map.of(TokenHash.of("s3cret"), "committer"), null);
        Authentication auth = a.authenticate("bearer", "s3cret".getBytes(StandardCharsets.UTF_8));
        assertThat(auth.principal()).isEqualTo(new Principal("committer", Principal.TOKEN));
        assertThat(auth.expiresAtMillis()).isZero();
        assertThatThrownBy(() -> a.authenticate("bearer", "s3cret2".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(AuthenticationException.class, e -> {
                    assertThat(e.reason()).isEqualTo(AuthenticationException.Reason.UNKNOWN_CREDENTIAL);
                    assertThat(e.getMessage()).doesNotContain("s3cret2");
                });
        assertThatThrownBy(() -> a.authenticate("basic", "s3cret".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOfSatisfying(AuthenticationException.class, e ->
                        assertThat(e.reason()).isEqualTo(AuthenticationException.Reason.UNSUPPORTED_MECHANISM));
    }
}
