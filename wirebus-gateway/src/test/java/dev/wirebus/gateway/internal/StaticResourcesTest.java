package dev.wirebus.gateway.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StaticResourcesTest {
    @Test
    void requestsForMissingFilesDoNotGrowTheCache() {
        StaticResources files = new StaticResources();
        assertThat(files.resource("dev/wirebus/gateway/web/wirebus.js")).isPresent();
        for (int i = 0; i < 10_000; i++) {
            assertThat(files.resource("dev/wirebus/gateway/web/missing-" + i + ".js")).isEmpty();
        }
        assertThat(files.cachedResources()).isEqualTo(1);
        assertThat(files.resource("dev/wirebus/gateway/web/wirebus.js")).isPresent();
    }
}
