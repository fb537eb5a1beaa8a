package dev.wirebus.security;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SecurityConfigTest {
    @TempDir
    Path dir;

    private UnixAccounts accounts() throws Exception {
        Path passwd = dir.resolve("passwd");
        Path group = dir.resolve("group");
        Files.writeString(passwd, "root:x:0:0:root:/root:/bin/bash\nconsensus:x:1001:1001::/:/bin/false\n"
                + "exec:x:1002:1002::/:/bin/false\nalice:x:1003:1003::/:/bin/false\n");
        Files.writeString(group, "root:x:0:\nconsensus:x:1001:\nexec:x:1002:\nalice:x:1003:\nobservers:x:2000:alice\n");
        return UnixAccounts.read(passwd, group);
    }

    private SecurityConfig read(Map<String, ?> table) throws Exception {
        return SecurityConfig.fromTable(table, dir, "wirebus.toml: [security]", null, accounts(), () -> 0L);
    }

    @Test
    void readsPrincipalsTheirPermissionsAndCredentials() throws Exception {
        Map<String, Object> committer = new LinkedHashMap<>();
        committer.put("publish", List.of("blocks"));
        committer.put("respond", List.of("state.*"));
        committer.put("tokens", List.of(TokenHash.of("committer-token")));
        committer.put("unix-users", List.of("consensus"));
        Map<String, Object> observer = new LinkedHashMap<>();
        observer.put("read", List.of("blocks"));
        observer.put("request", "state.*");
        observer.put("unix-groups", List.of("observers"));
        Map<String, Object> executor = Map.of("read", List.of("blocks"), "consume", List.of("executor"),
                "unix-users", List.of("1002"));
        SecurityConfig c = read(Map.of("principals", Map.of("committer", committer, "observer", observer,
                "executor", executor)));

        assertThat(c.enabled()).isTrue();
        assertThat(c.hasNetworkAuthentication()).isTrue();
        Principal byToken = c.authenticator().authenticate("bearer", "committer-token".getBytes()).principal();
        assertThat(byToken.name()).isEqualTo("committer");
        assertThat(c.policy().allows(byToken, Operation.PUBLISH, "blocks")).isTrue();
        assertThat(c.policy().allows(byToken, Operation.READ, "blocks")).isFalse();
        assertThat(c.unixPeers().principalFor(1001, new int[] {1001}).name()).isEqualTo("committer");
        assertThat(c.unixPeers().principalFor(1002, new int[] {1002}).name()).isEqualTo("executor");
        // alice is mapped by her supplementary group
        assertThat(c.unixPeers().principalFor(1003, new int[] {1003}).name()).isEqualTo("observer");
        assertThat(c.unixPeers().principalFor(0, new int[] {0})).isEqualTo(Principal.ANONYMOUS);
        Principal observerPeer = c.unixPeers().principalFor(1003, new int[] {1003});
        assertThat(c.policy().allows(observerPeer, Operation.REQUEST, "state.epoch")).isTrue();
        assertThat(c.policy().allows(observerPeer, Operation.RESPOND, "state.epoch")).isFalse();
    }

    @Test
    void withoutCredentialsTheNetworkCannotAuthenticate() throws Exception {
        SecurityConfig c = read(Map.of("principals", Map.of("anonymous", Map.of("read", List.of(">")))));
        assertThat(c.hasNetworkAuthentication()).isFalse();
        assertThat(c.allowAnonymous()).isFalse();
        assertThat(c.withAllowAnonymous().allowAnonymous()).isTrue();
        assertThat(SecurityConfig.DISABLED.policy().allows(Principal.ANONYMOUS, Operation.ADMIN, "x")).isTrue();
    }

    @Test
    void readsJwtAndTlsTables() throws Exception {
        Files.writeString(dir.resolve("hs.secret"), "0123456789abcdef0123456789abcdef");
        SecurityConfig c = read(Map.of(
                "jwt", Map.of("audience", "wirebus", "secret-file", "hs.secret", "clock-skew", "5s"),
                "tls", Map.of("cert", "server.pem", "key", "server.key")));
        assertThat(c.hasNetworkAuthentication()).isTrue();
        assertThat(c.tls().certificateChain()).isEqualTo(dir.resolve("server.pem"));
        assertThat(c.files()).containsExactly(dir.resolve("hs.secret"));
    }

    @Test
    void problemsNameTheKey() {
        assertThatThrownBy(() -> read(Map.of("principals", Map.of("x", Map.of("publsh", List.of("a"))))))
                .hasMessageStartingWith("wirebus.toml: [security.principals.x] publsh: unknown key");
        assertThatThrownBy(() -> read(Map.of("principals", Map.of("x", Map.of("read", List.of("a..b"))))))
                .hasMessageContaining("[security.principals.x] read: pattern 'a..b' has an empty token");
        assertThatThrownBy(() -> read(Map.of("principals", Map.of("x", Map.of("tokens", List.of("clear-text"))))))
                .hasMessageContaining("[security.principals.x] tokens: a token hash must be")
                .hasMessageNotContaining("clear-text");
        assertThatThrownBy(() -> read(Map.of("jwt", Map.of("secret-file", "x"))))
                .hasMessageContaining("[security.jwt] audience: is required");
        assertThatThrownBy(() -> read(Map.of("tsl", Map.of())))
                .hasMessageContaining("[security] tsl: unknown key");
        assertThatThrownBy(() -> read(Map.of("principals", Map.of(
                "a", Map.of("tokens", List.of(TokenHash.of("t"))), "b", Map.of("tokens", List.of(TokenHash.of("t")))))))
                .hasMessageContaining("already given to principal");
    }
}
