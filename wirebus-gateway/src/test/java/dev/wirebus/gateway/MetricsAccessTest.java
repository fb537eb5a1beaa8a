package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.security.AccessRules;
import dev.wirebus.security.Authenticator;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Permissions;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.TokenHash;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /metrics} with access control: 401 without a credential, 403 for a principal without
 * the admin permission on every stream (an observer, an operator of one stream), 200 with the
 * Prometheus text for {@code admin = [">"]}; {@code /healthz} and {@code /readyz} stay open. Without
 * access control (the open two-command default) everyone scrapes.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class MetricsAccessTest {
    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private static SecurityConfig roles() {
        return SecurityConfig.of(AccessRules.of(Map.of(
                        "observer", Permissions.builder().allow(Operation.READ, "blocks").build(),
                        "blocks-operator", Permissions.builder().allow(Operation.ADMIN, "blocks").build(),
                        "operator", Permissions.builder().allow(Operation.ADMIN, ">").build())),
                new Authenticator(Map.of(TokenHash.of("observer-token"), "observer",
                        TokenHash.of("blocks-operator-token"), "blocks-operator",
                        TokenHash.of("operator-token"), "operator"), null));
    }

    private HttpResponse<String> metrics(String token) {
        HttpRequest.Builder r = HttpRequest.newBuilder(f.uri("/metrics"));
        if (token != null) {
            r.header("Authorization", "Bearer " + token);
        }
        return f.send(r.build());
    }

    @Test
    void withAccessControlMetricsNeedAdminOnEveryStream() {
        SecurityConfig config = roles();
        f = GatewayFixture.startWith(g -> g.authenticator(GatewayAuthenticator.of(() -> config)));

        HttpResponse<String> anonymous = metrics(null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        JsonNode e = GatewayFixture.json(anonymous).get("error");
        assertThat(e.get("code").asText()).isEqualTo("AUTH_REQUIRED");
        assertThat(e.get("operation").asText()).isEqualTo("admin");
        assertThat(anonymous.headers().firstValue("www-authenticate").orElseThrow()).startsWith("Bearer");
        assertThat(anonymous.body()).doesNotContain("wirebus_http_requests");

        HttpResponse<String> badToken = metrics("guessed-token");
        assertThat(badToken.statusCode()).isEqualTo(401);
        assertThat(GatewayFixture.json(badToken).at("/error/code").asText()).isEqualTo("AUTH_FAILED");

        HttpResponse<String> observer = metrics("observer-token");
        assertThat(observer.statusCode()).isEqualTo(403);
        assertThat(GatewayFixture.json(observer).at("/error/message").asText())
                .isEqualTo("admin on '*' is not permitted for 'observer'");
        assertThat(metrics("blocks-operator-token").statusCode()).as("admin on one stream only").isEqualTo(403);

        HttpResponse<String> operator = metrics("operator-token");
        assertThat(operator.statusCode()).isEqualTo(200);
        assertThat(operator.headers().firstValue("content-type").orElseThrow()).startsWith("text/plain; version=0.0.4");
        assertThat(operator.body()).contains("# TYPE wirebus_http_requests_seconds histogram")
                .contains("wirebus_http_rejections_total{reason=\"permission_denied\"} 3.0");

        assertThat(f.get("/healthz").statusCode()).isEqualTo(200);
        assertThat(f.get("/readyz").statusCode()).isEqualTo(200);
    }

    @Test
    void withoutAccessControlMetricsStayOpen() {
        f = GatewayFixture.start();

        HttpResponse<String> r = f.get("/metrics");

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).contains("wirebus_http_connections_active");
    }

    @Test
    void aDisabledSecurityConfigurationLeavesMetricsOpen() {
        f = GatewayFixture.startWith(g -> g.authenticator(GatewayAuthenticator.of(() -> SecurityConfig.DISABLED)));

        assertThat(f.get("/metrics").statusCode()).isEqualTo(200);
    }
}
