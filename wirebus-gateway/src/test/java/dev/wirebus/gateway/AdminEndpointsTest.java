package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.security.Operation;
import dev.wirebus.security.Permissions;
import dev.wirebus.security.SecurityConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admin endpoints over HTTP against a real broker, guarded by the caller's admin permission:
 * list (only what the caller may administer), delete, trim, delete a consumer; 404 for what is not
 * there, 403 naming the operation and stream for a caller without the permission.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdminEndpointsTest {
    private GatewayFixture f;
    private final AtomicReference<SecurityConfig> config = new AtomicReference<>();

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    private HttpResponse<String> call(String method, String path) {
        return f.send(HttpRequest.newBuilder(f.uri(path)).method(method, HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer observer-secret").build());
    }

    @Test
    void anAdminListsDeletesTrimsAndDeletesConsumersOfItsStreamsOnly() throws Exception {
        // the token "observer-secret" is principal observer: admin on chat.*, nothing on blocks
        config.set(GatewayJwtTest.config(Map.of("observer", Permissions.builder().allow(Operation.ADMIN, "chat.*").build())));
        f = GatewayFixture.startWith(g -> g.authenticator(GatewayAuthenticator.of(config::get)));
        for (String s : new String[] {"blocks", "chat.1", "chat.2"}) {
            for (int i = 0; i < 3; i++) {
                f.client.publish(s, ("m" + i).getBytes()).get(10, TimeUnit.SECONDS);
            }
        }
        dev.wirebus.client.Subscription reader = f.client.subscribe("chat.2",
                SubscribeOptions.builder().consumer("reader").start(StartPosition.earliest()).build(), m -> { });
        reader.started().get(10, TimeUnit.SECONDS);
        reader.close();

        HttpResponse<String> list = call("GET", "/v1/streams");
        assertThat(list.statusCode()).isEqualTo(200);
        JsonNode streams = GatewayFixture.json(list).get("streams");
        assertThat(streams).hasSize(2);
        assertThat(streams.get(0).get("name").asText()).isEqualTo("chat.1");
        assertThat(streams.get(0).get("last_seq").asLong()).isEqualTo(3);
        assertThat(list.body()).doesNotContain("blocks");

        assertThat(call("POST", "/v1/streams/chat.1/trim?before=2").statusCode()).isEqualTo(200);
        assertThat(call("POST", "/v1/streams/chat.1/trim").statusCode()).as("before is required").isEqualTo(400);
        assertThat(call("DELETE", "/v1/streams/chat.2/consumers/reader").statusCode()).isEqualTo(200);
        assertThat(call("DELETE", "/v1/streams/chat.2/consumers/reader").statusCode()).isEqualTo(404);
        HttpResponse<String> deleted = call("DELETE", "/v1/streams/chat.1");
        assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(200);
        assertThat(GatewayFixture.json(deleted).at("/deleted").asBoolean()).isTrue();
        HttpResponse<String> gone = call("DELETE", "/v1/streams/chat.1");
        assertThat(gone.statusCode()).as(gone.body()).isEqualTo(404);
        HttpResponse<String> left = call("GET", "/v1/streams");
        assertThat(GatewayFixture.json(left).at("/streams").findValuesAsText("name")).containsExactly("chat.2");

        HttpResponse<String> denied = call("DELETE", "/v1/streams/blocks");
        assertThat(denied.statusCode()).isEqualTo(403);
        assertThat(GatewayFixture.json(denied).at("/error/message").asText())
                .isEqualTo("admin on 'blocks' is not permitted for 'observer'");
        assertThat(f.client.fetch("blocks", 1, 10).get(10, TimeUnit.SECONDS).messages()).hasSize(3);
        assertThat(f.send(HttpRequest.newBuilder(f.uri("/v1/streams/blocks")).DELETE().build()).statusCode())
                .as("anonymous").isEqualTo(401);
    }
}
