package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** An in-memory broker that restarts loses the streams' history: subscribers hear STREAM_RESET, not a resume. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StreamResetTest {
    @TempDir
    Path dir;
    private Broker broker;
    private WirebusClient client;
    private Gateway gateway;

    @AfterEach
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
        if (client != null) {
            client.close();
        }
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void aBrokerBackWithADifferentStoreEndsSubscriptionsWithStreamResetAndNoResumeFrom() throws Exception {
        Path socket = dir.resolve("w.sock");
        broker = Broker.start(BrokerConfig.builder().unixSocket(socket).build());
        client = WirebusClient.builder().address("unix://" + socket).name("gateway").connect();
        gateway = Gateway.builder().client(client).bind("127.0.0.1", 0).build().start();
        client.publish("chat", "one".getBytes()).join();
        try (WsClient ws = WsClient.connect(gateway.port());
             SseEvents sse = SseEvents.open(java.net.http.HttpClient.newHttpClient(),
                     java.net.URI.create("http://127.0.0.1:" + gateway.port() + "/v1/streams/chat/events?from=1"))) {
            ws.send("{\"op\":\"subscribe\",\"id\":\"c1\",\"stream\":\"chat\",\"from\":1}");
            assertThat(ws.next().get("type").asText()).isEqualTo("subscribed");
            assertThat(ws.next().get("seq").asLong()).isEqualTo(1);
            assertThat(sse.next().id()).isEqualTo("1");

            broker.close();
            broker = Broker.start(BrokerConfig.builder().unixSocket(socket).build());

            JsonNode e = ws.next();
            assertThat(e.get("type").asText()).isEqualTo("error");
            assertThat(e.get("code").asText()).isEqualTo("STREAM_RESET");
            assertThat(e.get("stream").asText()).isEqualTo("chat");
            assertThat(e.has("resume_from")).as("nothing to resume from").isFalse();
            assertThat(e.has("retry_after_ms")).isFalse();

            SseEvents.Event end = sse.next();
            assertThat(end.event()).isEqualTo("wirebus-error");
            JsonNode data = GatewayFixture.JSON.readTree(end.data());
            assertThat(data.get("code").asText()).isEqualTo("STREAM_RESET");
            assertThat(data.has("resume_from")).isFalse();
        }
    }
}
