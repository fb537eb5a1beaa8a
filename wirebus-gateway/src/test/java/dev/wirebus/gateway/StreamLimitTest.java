package dev.wirebus.gateway;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;

/** A publish that would create one stream more than the broker may hold is 507, not a 500. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StreamLimitTest {
    @Test
    void aPublishBeyondTheBrokersStreamLimitIs507StreamLimit() {
        try (GatewayFixture f = GatewayFixture.start(l -> { }, b -> b.maxStreams(1))) {
            assertThat(f.post("/v1/streams/first/messages", "a").statusCode()).isEqualTo(200);
            HttpResponse<String> r = f.post("/v1/streams/second/messages", "b");
            assertThat(r.statusCode()).isEqualTo(507);
            assertThat(GatewayFixture.json(r).at("/error/code").asText()).isEqualTo("STREAM_LIMIT");
        }
    }
}
