package dev.wirebus.cli;

import dev.wirebus.cli.ServeSettings.Layer;
import dev.wirebus.cli.ServeSettings.Origin;
import dev.wirebus.cli.ServeSettings.Setting;
import dev.wirebus.cli.ServeSettings.SettingsException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The gateway's browser and TLS settings from the file, the environment and flags. */
class GatewaySettingsTest {
    @TempDir
    Path dir;

    @Test
    void originsHostsAndDemoComeFromTheFileAndTheEnvironment() throws Exception {
        Path file = dir.resolve("w.toml");
        Files.writeString(file, "[http]\nallowed-origins = \"https://chat.example.com, http://localhost:3000\"\n"
                + "demo = false\n");
        ServeSettings s = ServeSettings.resolve(List.of(ServeSettings.defaults(), ConfigFile.read(file),
                ServeSettings.environment(Map.of("WIREBUS_HTTP_ALLOWED_HOSTS", "gw.internal"))));
        GatewaySettings gw = GatewaySettings.of(s);
        assertThat(gw.access().origins()).containsExactly("https://chat.example.com", "http://localhost:3000");
        assertThat(gw.access().hosts()).containsExactly("gw.internal");
        assertThat(gw.demo()).isFalse();
        assertThat(gw.tls()).isEmpty();
    }

    @Test
    void theDefaultsServeTheDemoToTheGatewaysOwnPageOnly() {
        GatewaySettings gw = GatewaySettings.of(ServeSettings.resolve(List.of(ServeSettings.defaults())));
        assertThat(gw.demo()).isTrue();
        assertThat(gw.access().origins()).isEmpty();
        assertThat(gw.access().anyOrigin()).isFalse();
    }

    @Test
    void aBadOriginNamesItsSource() {
        assertThatThrownBy(() -> new Layer().parse(Setting.HTTP_ALLOWED_ORIGINS, "chat.example.com",
                new Origin("--http-allowed-origins", true)))
                .isInstanceOf(SettingsException.class)
                .hasMessageStartingWith("--http-allowed-origins 'chat.example.com' is not an origin");
    }

    @Test
    void aCertificateWithoutAKeyIsRefusedNamingBoth() {
        Layer flags = new Layer().parse(Setting.HTTP_TLS_CERT, dir.resolve("c.pem").toString(),
                new Origin("--http-tls-cert", true));
        ServeSettings s = ServeSettings.resolve(List.of(ServeSettings.defaults(), flags));
        assertThatThrownBy(() -> GatewaySettings.of(s)).isInstanceOf(SettingsException.class)
                .hasMessageContaining("[http] tls-key is not set");
    }
}
