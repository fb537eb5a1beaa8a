package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.wirebus.security.ReloadingSslContext;
import dev.wirebus.security.TlsFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** HTTPS and wss:// on the gateway from PEM files (the security module's reloading context); a client that does not trust the certificate fails the handshake. */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GatewayTlsTest {
    @TempDir
    Path dir;

    @Test
    void httpsAndWssServeWithThePemCertificateAndAnUntrustingClientFailsCleanly() throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "gateway");
        try (GatewayFixture f = GatewayFixture.startWith(g -> g.tls(ReloadingSslContext.open(
                new TlsFiles(certs.certificate, certs.key, null, false), Duration.ofSeconds(1))::current))) {
            HttpClient trusting = HttpClient.newBuilder().sslContext(certs.trustingClient())
                    .connectTimeout(Duration.ofSeconds(5)).build();
            String base = "https://localhost:" + f.gateway.port();
            HttpResponse<String> published = trusting.send(HttpRequest.newBuilder(URI.create(base + "/v1/streams/tls/messages"))
                    .POST(HttpRequest.BodyPublishers.ofString("over tls")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(published.statusCode()).isEqualTo(200);

            LinkedBlockingQueue<String> frames = new LinkedBlockingQueue<>();
            WebSocket ws = trusting.newWebSocketBuilder().buildAsync(URI.create("wss://localhost:" + f.gateway.port() + "/v1/ws"),
                    new WebSocket.Listener() {
                        @Override
                        public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                            frames.add(data.toString());
                            w.request(1);
                            return null;
                        }
                    }).get(10, TimeUnit.SECONDS);
            ws.sendText("{\"op\":\"subscribe\",\"id\":\"s\",\"stream\":\"tls\",\"from\":1}", true).join();
            JsonNode subscribed = GatewayFixture.JSON.readTree(frames.poll(10, TimeUnit.SECONDS));
            assertThat(subscribed.get("type").asText()).isEqualTo("subscribed");
            JsonNode message = GatewayFixture.JSON.readTree(frames.poll(10, TimeUnit.SECONDS));
            assertThat(message.get("data").asText()).isEqualTo("over tls");
            ws.abort();

            HttpClient untrusting = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            assertThatThrownBy(() -> untrusting.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString())).isInstanceOf(SSLHandshakeException.class);
            // the gateway still serves after a failed handshake
            assertThat(trusting.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aRenewedCertificateServesNewConnectionsWithoutARestart() throws Exception {
        TestCertificates first = TestCertificates.make(dir, "first");
        Path cert = dir.resolve("cert.pem");
        Path key = dir.resolve("key.pem");
        Files.copy(first.certificate, cert);
        Files.copy(first.key, key);
        try (GatewayFixture f = GatewayFixture.startWith(g -> g.tls(ReloadingSslContext.open(
                new TlsFiles(cert, key, null, false), Duration.ZERO)::current))) {
            URI health = URI.create("https://localhost:" + f.gateway.port() + "/healthz");
            assertThat(HttpClient.newBuilder().sslContext(first.trustingClient()).build()
                    .send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);

            TestCertificates second = TestCertificates.make(dir, "second");
            Files.copy(second.certificate, cert, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(second.key, key, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            // a distinct modification time however coarse the file system's clock
            FileTime later = FileTime.fromMillis(Files.getLastModifiedTime(cert).toMillis() + 10_000);
            Files.setLastModifiedTime(cert, later);
            Files.setLastModifiedTime(key, later);

            HttpClient trustsSecond = HttpClient.newBuilder().sslContext(second.trustingClient()).build();
            assertThat(trustsSecond.send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode()).isEqualTo(200);
            assertThatThrownBy(() -> HttpClient.newBuilder().sslContext(first.trustingClient()).build()
                    .send(HttpRequest.newBuilder(health).build(), HttpResponse.BodyHandlers.ofString()))
                    .isInstanceOf(IOException.class);
        }
    }
}
