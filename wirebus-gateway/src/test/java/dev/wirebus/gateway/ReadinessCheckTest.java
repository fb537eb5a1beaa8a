package dev.wirebus.gateway;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/** /readyz follows a readiness check besides the broker connection, e.g. the store's health (issue 15). */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReadinessCheckTest {
    @Test
    void readyzIs503NamingTheStoreWhileItIsUnhealthyAndReadyAgainAfter() {
        AtomicBoolean storeReachable = new AtomicBoolean(true);
        try (GatewayFixture f = GatewayFixture.startWith(g -> g.readinessCheck("store", storeReachable::get))) {
            assertThat(f.get("/readyz").statusCode()).isEqualTo(200);

            storeReachable.set(false);
            HttpResponse<String> down = f.get("/readyz");
            assertThat(down.statusCode()).isEqualTo(503);
            assertThat(GatewayFixture.json(down).at("/error/code").asText()).isEqualTo("NOT_READY");
            assertThat(GatewayFixture.json(down).at("/error/failing/0").asText()).isEqualTo("store");
            assertThat(down.headers().firstValue("retry-after")).hasValue("1");
            assertThat(f.get("/healthz").statusCode()).as("alive, only not ready").isEqualTo(200);

            storeReachable.set(true);
            assertThat(f.get("/readyz").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aCheckThatThrowsCountsAsUnhealthy() {
        try (GatewayFixture f = GatewayFixture.startWith(g -> g.readinessCheck("store", () -> {
            throw new IllegalStateException("redis connection closed");
        }))) {
            assertThat(f.get("/readyz").statusCode()).isEqualTo(503);
        }
    }
}
