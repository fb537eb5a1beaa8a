package dev.wirebus.cli;

import dev.wirebus.security.TokenHash;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code wirebus serve} with a {@code [security]} table: the gateway checks each HTTP caller against
 * it (a token's permissions; 401 without one; {@code /metrics} only for admin on every stream) and
 * reaches the broker with the internal credential;
 * a gateway on a non-loopback address without any authentication refuses to start.
 */
class GatewaySecurityServeTest {
    @TempDir
    Path dir;

    @Test
    void theGatewayChecksEachCallerAgainstTheSecurityTable() throws Exception {
        Path config = dir.resolve("w.toml");
        Files.writeString(config, "[security]\n[security.principals.writer]\ntokens = [\"" + TokenHash.of("w-secret")
                + "\"]\npublish = [\"chat.*\"]\nread = [\"chat.*\"]\n"
                + "[security.principals.scraper]\ntokens = [\"" + TokenHash.of("s-secret") + "\"]\nadmin = [\">\"]\n");
        try (Cli.Running serve = Cli.start("serve", "--config", config.toString(), "--uds", dir.resolve("s.sock").toString(),
                "--tcp", "127.0.0.1:0", "--data", dir.resolve("data").toString(), "--http", "127.0.0.1:0")) {
            await().atMost(Duration.ofSeconds(20)).until(() -> serve.out().contains("ready\n"));
            String page = serve.out().lines().filter(l -> l.startsWith("wirebus http on ")).findFirst().orElseThrow()
                    .substring("wirebus http on ".length());
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> published = http.send(HttpRequest.newBuilder(URI.create(page + "v1/streams/chat.1/messages"))
                    .header("Authorization", "Bearer w-secret").POST(HttpRequest.BodyPublishers.ofString("hi")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(published.statusCode()).as(published.body()).isEqualTo(200);
            HttpResponse<String> other = http.send(HttpRequest.newBuilder(URI.create(page + "v1/streams/blocks/messages"))
                    .header("Authorization", "Bearer w-secret").POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(other.statusCode()).isEqualTo(403);
            HttpResponse<String> anonymous = http.send(HttpRequest.newBuilder(URI.create(page + "v1/streams/chat.1/messages"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(anonymous.statusCode()).isEqualTo(401);
            assertThat(http.send(HttpRequest.newBuilder(URI.create(page + "readyz")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).as("the gateway reached the broker").isEqualTo(200);

            // the scrape (broker and gateway meters) needs admin on every stream; /healthz stays open
            assertThat(metrics(http, page, null).statusCode()).isEqualTo(401);
            HttpResponse<String> writer = metrics(http, page, "w-secret");
            assertThat(writer.statusCode()).isEqualTo(403);
            assertThat(writer.body()).contains("admin on '*' is not permitted for 'writer'");
            HttpResponse<String> scraper = metrics(http, page, "s-secret");
            assertThat(scraper.statusCode()).isEqualTo(200);
            assertThat(scraper.body()).contains("wirebus_auth_succeeded_total{mechanism=\"internal\"}").contains("wirebus_http_requests_seconds");
            assertThat(http.send(HttpRequest.newBuilder(URI.create(page + "healthz")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    private static HttpResponse<String> metrics(HttpClient http, String page, String token) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(page + "metrics"));
        if (token != null) {
            r.header("Authorization", "Bearer " + token);
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aGatewayOnAllAddressesWithoutAuthenticationRefusesToStart() {
        Cli.Result r = Cli.run("serve", "--uds", dir.resolve("s.sock").toString(), "--tcp", "127.0.0.1:0",
                "--data", dir.resolve("data").toString(), "--http", "0.0.0.0:0");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.err()).contains("refusing to serve HTTP on 0.0.0.0:0 without authentication");
    }
}
