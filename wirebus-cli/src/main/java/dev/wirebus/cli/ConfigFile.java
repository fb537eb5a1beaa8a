package dev.wirebus.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import dev.wirebus.cli.ServeSettings.Layer;
import dev.wirebus.cli.ServeSettings.Origin;
import dev.wirebus.cli.ServeSettings.Setting;
import dev.wirebus.cli.ServeSettings.SettingsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The TOML config file of {@code wirebus serve} ({@code --config FILE}), read into a
 * {@link Layer}. Top-level keys and tables {@code [storage]}, {@code [retention]},
 * {@code [limits]} and {@code [http]}; anything else is refused. Every problem is one line naming the file as given
 * and the key, e.g. {@code wirebus.toml: [retention] age: '10 parsecs' is not a duration ...}.
 *
 * <pre>{@code
 * Layer fromFile = ConfigFile.read(Path.of("wirebus.toml"));
 * }</pre>
 */
final class ConfigFile {
    private static final TomlMapper TOML = new TomlMapper();

    private ConfigFile() {
    }

    /** The settings in {@code file}; fails with a {@link SettingsException} naming it as given. */
    static Layer read(Path file) {
        String name = file.toString();
        JsonNode root;
        try {
            if (Files.isDirectory(file)) {
                throw new SettingsException(name + ": is a directory, not a config file", false);
            }
            root = TOML.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new SettingsException(name + ": no such file", false);
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null || at.getLineNr() < 1 ? ""
                    : " line " + at.getLineNr() + ", column " + at.getColumnNr() + ":";
            throw new SettingsException(name + ":" + where + " not valid TOML: " + firstLine(e.getOriginalMessage()),
                    false);
        } catch (IOException e) {
            throw new SettingsException(name + ": cannot read it: " + e.getMessage(), false);
        }
        Layer layer = new Layer();
        if (root == null || root.isMissingNode()) {
            return layer; // an empty file
        }
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            String key = field.getKey();
            JsonNode value = field.getValue();
            if (key.equals("streams")) {
                readStreams(layer, name, value);
            } else if (key.equals("security")) {
                layer.security(SecuritySettings.read(file, value));
            } else if (ServeSettings.TABLES.contains(key)) {
                if (!value.isObject()) {
                    throw new SettingsException(name + ": " + key + ": must be a table, [" + key + "], not a value",
                            false);
                }
                for (Map.Entry<String, JsonNode> entry : value.properties()) {
                    readValue(layer, name, key, entry.getKey(), entry.getValue());
                }
            } else if (value.isObject() && Setting.find(null, key).isEmpty()) {
                throw new SettingsException(name + ": [" + key + "]: unknown table (tables: " + tableList() + ")",
                        false);
            } else {
                readValue(layer, name, null, key, value);
            }
        }
        return layer;
    }

    /** {@code [streams.NAME]} tables: settings of one stream that override the broker's. */
    private static void readStreams(Layer layer, String file, JsonNode streams) {
        if (!streams.isObject()) {
            throw new SettingsException(file + ": streams: must be tables, [streams.NAME], not a value", false);
        }
        for (Map.Entry<String, JsonNode> stream : streams.properties()) {
            String where = file + ": [streams." + stream.getKey() + "]";
            if (!stream.getValue().isObject()) {
                throw new SettingsException(where + ": must be a table of settings", false);
            }
            dev.wirebus.server.StreamSettings settings = dev.wirebus.server.StreamSettings.none();
            for (Map.Entry<String, JsonNode> entry : stream.getValue().properties()) {
                if (!entry.getValue().isValueNode()) {
                    throw new SettingsException(where + " " + entry.getKey() + ": must be a single value", false);
                }
                try {
                    settings = ServeSettings.streamSetting(settings, entry.getKey(), entry.getValue().asText());
                } catch (IllegalArgumentException | picocli.CommandLine.TypeConversionException e) {
                    throw new SettingsException(where + " " + entry.getKey() + ": " + e.getMessage(), false);
                }
            }
            layer.stream(stream.getKey(), settings);
        }
    }

    private static void readValue(Layer layer, String file, String table, String key, JsonNode value) {
        String path = table == null ? key : "[" + table + "] " + key;
        Setting setting = Setting.find(table, key)
                .orElseThrow(() -> new SettingsException(file + ": " + path + ": " + unknown(table, key), false));
        Origin origin = new Origin(file + ": " + path, false);
        if (!value.isValueNode()) {
            throw origin.problem("must be a single value, not " + (value.isArray() ? "an array" : "a table"));
        }
        layer.parse(setting, value.asText(), origin);
    }

    /** Why {@code key} is not known in {@code table}, and where it may belong. */
    private static String unknown(String table, String key) {
        if (table == null && key.startsWith("retention-")) {
            Optional<Setting> retention = Setting.find("retention", key.substring("retention-".length()));
            if (retention.isPresent()) {
                return "unknown key; write it as " + retention.get().path();
            }
        }
        for (Setting s : Setting.values()) {
            if (s.key().equals(key)) {
                return "unknown key here; it belongs " + (s.table() == null ? "at the top level, before any table"
                        : "in [" + s.table() + "]");
            }
        }
        if (table == null) {
            return "unknown key (top-level keys: " + String.join(", ", Setting.keysOf(null)) + "; tables: "
                    + tableList() + ")";
        }
        List<String> keys = Setting.keysOf(table);
        return "unknown key (keys of [" + table + "]: " + String.join(", ", keys) + ")";
    }

    private static String tableList() {
        return ServeSettings.TABLES.stream().map(t -> "[" + t + "]").collect(Collectors.joining(", "));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl).strip();
    }
}
