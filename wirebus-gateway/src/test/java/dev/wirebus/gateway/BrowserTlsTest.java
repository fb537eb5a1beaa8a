package dev.wirebus.gateway;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.security.ReloadingSslContext;
import dev.wirebus.security.TlsFiles;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code browser-tests/tls.mjs}: https, wss:// from wirebus.js and EventSource in a real browser. */
class BrowserTlsTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void wirebusJsOverWssAndEventSourceOverHttps() throws Exception {
        TestCertificates certs = TestCertificates.make(dir, "browser");
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient client = broker.client(EmbeddedBroker.Transport.UNIX).name("gateway").connect();
             Gateway gateway = Gateway.builder().client(client).bind("127.0.0.1", 0)
                     .tls(ReloadingSslContext.open(new TlsFiles(certs.certificate, certs.key, null, false),
                             Duration.ofSeconds(1))::current).build().start()) {
            for (String m : List.of("s1", "s2", "s3")) {
                client.publish("secure", m.getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            }
            BrowserScript.Result r = BrowserScript.run("tls.mjs", List.of("https://localhost:" + gateway.port()),
                    Map.of(), line -> null);
            assertThat(r.finished()).as("tls.mjs finished; its output:%n%s", r.output()).isTrue();
            assertThat(r.exitCode()).as("tls.mjs exit code; its output:%n%s", r.output()).isZero();
            assertThat(client.fetch("secure", 1, 10).get(10, TimeUnit.SECONDS).messages()).hasSize(5);
        }
    }
}
