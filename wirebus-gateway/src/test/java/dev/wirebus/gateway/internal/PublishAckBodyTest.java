package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.wirebus.client.PublishAck;
import io.netty.buffer.ByteBuf;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The publish answer written without a JSON tree is the JSON a tree would give, escaping included. */
class PublishAckBodyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode parse(ByteBuf body) throws Exception {
        try {
            return JSON.readTree(body.toString(StandardCharsets.UTF_8));
        } finally {
            body.release();
        }
    }

    @Test
    void answerCarriesTheStreamAndTheSequence() throws Exception {
        ByteBuf body = PublishEndpoint.ackBody("chat", new PublishAck(9_007_199_254_740_993L, 1, false));
        assertThat(body.toString(StandardCharsets.UTF_8)).isEqualTo("{\"stream\":\"chat\",\"seq\":9007199254740993}");
        body.release();
    }

    @Test
    void aDuplicateSaysSoAndANameThatNeedsEscapingStaysValidJson() throws Exception {
        // the broker refuses such names today; the answer must not become invalid JSON if that changes
        JsonNode n = parse(PublishEndpoint.ackBody("say \"hi\" \\ é\n", new PublishAck(7, 1, true)));
        assertThat(n.get("stream").asText()).isEqualTo("say \"hi\" \\ é\n");
        assertThat(n.get("seq").asLong()).isEqualTo(7);
        assertThat(n.get("duplicate").asBoolean()).isTrue();
        assertThat(n.size()).isEqualTo(3);
    }
}
