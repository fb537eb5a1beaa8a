package dev.wirebus.gateway.internal;

import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import io.netty.handler.codec.http.FullHttpResponse;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;

/** Broker refusals the gateway maps to statuses and headers of their own. */
class GatewayErrorMappingTest {
    @Test
    void backpressureCarriesTheBrokersRetryHintAsRetryAfter() {
        ServerRefusedException refused = new ServerRefusedException(ErrorCode.BACKPRESSURE, "stream gated",
                ErrorFields.of(ErrorFields.RETRY_AFTER_MILLIS, 2500));
        GatewayError e = GatewayError.from(new CompletionException(refused));
        assertThat(e.status().code()).isEqualTo(503);
        assertThat(e.retryAfterMillis()).isEqualTo(2500);
        FullHttpResponse r = Responses.error(e);
        try {
            assertThat(r.headers().get("Retry-After")).isEqualTo("3"); // whole seconds, rounded up
        } finally {
            r.release();
        }
    }

    @Test
    void backpressureWithoutAHintRetriesAfterOneSecond() {
        GatewayError e = GatewayError.from(new ServerRefusedException(ErrorCode.BACKPRESSURE, "full"));
        assertThat(e.retryAfterMillis()).isEqualTo(1000);
    }

    @Test
    void streamLimitIs507InsufficientStorage() {
        GatewayError e = GatewayError.from(new ServerRefusedException(ErrorCode.STREAM_LIMIT, "at most 1 stream"));
        assertThat(e.status().code()).isEqualTo(507);
        assertThat(e.code()).isEqualTo("STREAM_LIMIT");
    }
}
