package dev.wirebus.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.wirebus.security.SecurityConfig;
import dev.wirebus.security.UnixAccounts;
import dev.wirebus.server.BrokerConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The {@code [security]} table of the config file (docs/security.md): read into a
 * {@link SecurityConfig} when the file is read, and again from the same file on SIGHUP or when the
 * file changes. Without the table, access control is off. {@code --insecure} (or
 * {@code WIREBUS_INSECURE=true}) allows a non-loopback listener without authentication.
 *
 * <pre>{@code
 * SecuritySettings s = SecuritySettings.read(Path.of("wirebus.toml"), tableNode);
 * s.applyTo(builder);
 * }</pre>
 */
final class SecuritySettings {
    private static final ObjectMapper PLAIN = new ObjectMapper();
    private static final TomlMapper TOML = new TomlMapper();

    /** No {@code [security]} table: access control off. */
    static final SecuritySettings NONE = new SecuritySettings(null, SecurityConfig.DISABLED);

    private final Path file;
    private final SecurityConfig config;

    private SecuritySettings(Path file, SecurityConfig config) {
        this.file = file;
        this.config = config;
    }

    /**
     * The table {@code node} of {@code file}.
     *
     * @throws ServeSettings.SettingsException one line naming the file and the key
     */
    static SecuritySettings read(Path file, JsonNode node) {
        return new SecuritySettings(file, parse(file, node));
    }

    private static SecurityConfig parse(Path file, JsonNode node) {
        String where = file + ": [security]";
        if (node == null || !node.isObject()) {
            throw new ServeSettings.SettingsException(where + ": must be a table", false);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> table = PLAIN.convertValue(node, Map.class);
        try {
            return SecurityConfig.fromTable(table, Path.of("").toAbsolutePath(), where,
                    file.toAbsolutePath().normalize(), UnixAccounts.system(), System::currentTimeMillis);
        } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
            throw new ServeSettings.SettingsException(e.getMessage(), false);
        }
    }

    /** Reads the file again: its {@code [security]} table, or access control off when the table is gone. */
    private SecurityConfig reread() {
        JsonNode root;
        try {
            root = TOML.readTree(Files.readAllBytes(file));
        } catch (JacksonException e) {
            throw new IllegalArgumentException(file + ": not valid TOML: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read it: " + e.getMessage());
        }
        JsonNode table = root == null ? null : root.get("security");
        return table == null ? SecurityConfig.DISABLED : parse(file, table);
    }

    /** The access configuration read. */
    SecurityConfig config() {
        return config;
    }

    /** Puts the configuration and its reloader in the broker's configuration; {@code insecure}: --insecure given. */
    void applyTo(BrokerConfig.Builder b, boolean insecure) {
        b.security(insecure ? config.withAllowAnonymous() : config);
        if (file != null) {
            Supplier<SecurityConfig> reloader = () -> insecure ? reread().withAllowAnonymous() : reread();
            b.securityReloader(reloader);
        }
    }
}
