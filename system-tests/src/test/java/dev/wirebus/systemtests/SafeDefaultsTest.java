package dev.wirebus.systemtests;

import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.TokenHash;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A broker on loopback needs no configuration (the two-command start); one on any other address
 * refuses to start unless clients can authenticate there or anonymous access is asked for. The
 * tests bind the wildcard address and close at once: nothing is sent over a network.
 */
class SafeDefaultsTest {
    @TempDir
    Path dir;

    private static BrokerConfig.Builder on(String host) {
        return BrokerConfig.builder().tcp(new InetSocketAddress(host, 0));
    }

    @Test
    void loopbackWithoutAnySecurityStarts() throws Exception {
        try (Broker b = Broker.start(on("127.0.0.1").build())) {
            assertThat(b.tcpAddress()).isNotNull();
        }
    }

    @Test
    void aNonLoopbackListenerWithoutAuthenticationRefusesToStart() {
        assertThatThrownBy(() -> Broker.start(on("0.0.0.0").build()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("refusing to listen on 0.0.0.0")
                .hasMessageContaining("--insecure");
    }

    @Test
    void accessControlWithoutCredentialsIsNotAuthentication() throws Exception {
        SecurityConfig noCredentials = SecurityFixtures.parse(dir, "[security.principals.anonymous]\nread = [\">\"]\n");
        assertThatThrownBy(() -> Broker.start(on("0.0.0.0").security(noCredentials).build()))
                .isInstanceOf(IOException.class).hasMessageContaining("without authentication");
    }

    @Test
    void insecureOrTokensLetItStart() throws Exception {
        try (Broker b = Broker.start(on("0.0.0.0").security(SecurityConfig.DISABLED.withAllowAnonymous()).build())) {
            assertThat(b.tcpAddress().getPort()).isPositive();
        }
        SecurityConfig tokens = SecurityFixtures.parse(dir, "[security.principals.svc]\ntokens = [\""
                + TokenHash.of("t") + "\"]\npublish = [\"a\"]\n");
        try (Broker b = Broker.start(on("0.0.0.0").security(tokens).build())) {
            assertThat(b.tcpAddress().getPort()).isPositive();
        }
    }
}
