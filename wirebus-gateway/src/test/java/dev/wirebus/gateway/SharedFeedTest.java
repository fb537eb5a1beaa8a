package dev.wirebus.gateway;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many SSE subscribers of one stream over real HTTP connections share the gateway's one feed of
 * it; whatever their start, each sees its range once, in order, with its own encoding.
 */
@Timeout(60)
class SharedFeedTest {
    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private void publish(int from, int to) {
        List<byte[]> batch = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            batch.add(("m" + i).getBytes(StandardCharsets.UTF_8));
        }
        f.client.publishBatch("shared", batch, from).join();
    }

    @Test
    void mixedStartsOverSseEachSeeTheirRangeOnceInOrder() {
        f = GatewayFixture.start();
        publish(1, 50);
        List<SseEvents> subs = new ArrayList<>();
        List<Integer> starts = new ArrayList<>();
        List<Boolean> base64 = new ArrayList<>();
        try {
            for (int i = 0; i < 30; i++) {
                String from;
                int start;
                switch (i % 3) {
                    case 0:
                        from = "beginning";
                        start = 1;
                        break;
                    case 1:
                        from = "20";
                        start = 20;
                        break;
                    default:
                        from = "end";
                        start = 51;
                        break;
                }
                boolean b64 = i % 2 == 0;
                subs.add(SseEvents.open(f.http, f.uri("/v1/streams/shared/events?from=" + from
                        + (b64 ? "&encoding=base64" : ""))));
                starts.add(start);
                base64.add(b64);
            }
            publish(51, 150);
            for (int i = 0; i < subs.size(); i++) {
                SseEvents sse = subs.get(i);
                assertThat(sse.response.statusCode()).isEqualTo(200);
                for (int seq = starts.get(i); seq <= 150; seq++) {
                    String data = base64.get(i)
                            ? java.util.Base64.getEncoder().encodeToString(("m" + seq).getBytes(StandardCharsets.UTF_8))
                            : "m" + seq;
                    assertThat(sse.next()).as("subscriber %d", i).isEqualTo(new SseEvents.Event(Long.toString(seq), null, data));
                }
            }
        } finally {
            subs.forEach(SseEvents::close);
        }
    }
}
