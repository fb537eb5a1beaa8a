package dev.wirebus.cli;

import dev.wirebus.cli.ServeSettings.Layer;
import dev.wirebus.cli.ServeSettings.Setting;
import dev.wirebus.cli.ServeSettings.SettingsException;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The settings of serve: the config file, the environment, their names, and that the docs keep up. */
class ServeSettingsTest {
    /** The repository root: the parent of this module's directory, where tests run. */
    private static final Path ROOT = Path.of("").toAbsolutePath().getParent();

    @TempDir
    Path dir;

    @Test
    void theExampleFileSetsEveryKeyToItsDefault() {
        Layer example = ConfigFile.read(ROOT.resolve("wirebus.example.toml"));

        assertThat(example.values().keySet()).containsExactlyInAnyOrder(Setting.values());
        assertThat(example.values()).isEqualTo(ServeSettings.defaults().values());
    }

    @Test
    void theDefaultsAreTheBrokersExceptThatServeKeepsStreamsOnDisk() {
        BrokerConfig config = ServeSettings.resolve(List.of(ServeSettings.defaults())).toBrokerConfig();

        assertThat(config.storage()).isEqualTo(BrokerConfig.Storage.DISK);
        assertThat(config.dataDirectory()).isEqualTo(Path.of("data").toAbsolutePath());
        assertThat(config.durability()).isEqualTo(BrokerConfig.Durability.ALWAYS);
        assertThat(config.syncInterval()).isEqualTo(Duration.ofMillis(5));
        assertThat(config.segmentBytes()).isEqualTo(64L << 20);
        assertThat(config.retentionMessages()).isEqualTo(1_000_000);
        assertThat(config.retentionBytes()).isEqualTo(1L << 30);
        assertThat(config.retentionAge()).isNull();
        assertThat(config.maxFrameLength()).isEqualTo(8 << 20);
        assertThat(config.maxMessageBytes()).isEqualTo(1 << 20);
        assertThat(config.tcp().getPort()).isEqualTo(7440);
        assertThat(config.unixSocket()).isNotNull();
    }

    @Test
    void everySettingHasAFlagAndAVariableNamedAfterIt() {
        CommandSpec serve = WirebusCommand.newCommandLine().getSubcommands().get("serve").getCommandSpec();

        for (Setting s : Setting.values()) {
            assertThat(serve.findOption(s.flag())).as(s.flag()).isNotNull();
        }
        assertThat(Setting.DATA.envName()).isEqualTo("WIREBUS_DATA");
        assertThat(Setting.SYNC_INTERVAL.envName()).isEqualTo("WIREBUS_SYNC_INTERVAL");
        assertThat(Setting.RETENTION_AGE.envName()).isEqualTo("WIREBUS_RETENTION_AGE");
        assertThat(Setting.MAX_FRAME_BYTES.envName()).isEqualTo("WIREBUS_MAX_FRAME_BYTES");
    }

    @Test
    void theDocsNameEveryKeyVariableAndFlag() throws Exception {
        String docs = Files.readString(ROOT.resolve("docs/configuration.md"));

        for (Setting s : Setting.values()) {
            assertThat(docs).as(s.path()).contains("`" + s.key() + "`", "`" + s.envName() + "`", "`" + s.flag() + "`");
        }
        for (String table : ServeSettings.TABLES) {
            assertThat(docs).contains("[" + table + "]");
        }
    }

    @Test
    void theEnvironmentOverridesTheFileAndNoneClearsTheAge() throws Exception {
        Layer file = ConfigFile.read(write("""
                [storage]
                durability = "never"
                sync-bytes = "1MiB"
                [retention]
                age = "2h"
                """));
        Layer env = ServeSettings.environment(Map.of("WIREBUS_DURABILITY", "always", "WIREBUS_RETENTION_AGE", "none",
                "WIREBUS_SEGMENT_BYTES", "", "WIREBUS_SOCKET", "/elsewhere.sock"));

        ServeSettings fileOnly = ServeSettings.resolve(List.of(ServeSettings.defaults(), file));
        ServeSettings both = ServeSettings.resolve(List.of(ServeSettings.defaults(), file, env));

        assertThat(fileOnly.get(Setting.RETENTION_AGE)).isEqualTo(Optional.of(Duration.ofHours(2)));
        assertThat(fileOnly.get(Setting.DURABILITY)).isEqualTo(BrokerConfig.Durability.NEVER);
        assertThat(both.get(Setting.DURABILITY)).isEqualTo(BrokerConfig.Durability.ALWAYS);
        assertThat(both.origin(Setting.DURABILITY).where()).isEqualTo("WIREBUS_DURABILITY");
        assertThat(both.get(Setting.RETENTION_AGE)).isEqualTo(Optional.empty());
        assertThat(both.get(Setting.SYNC_BYTES)).isEqualTo(1L << 20);
        // a blank variable counts as unset
        assertThat(both.get(Setting.SEGMENT_BYTES)).isEqualTo(64L << 20);
        assertThat(both.toBrokerConfig().retentionAge()).isNull();
    }

    @Test
    void streamLimitsAndFileModesComeFromTheFileTheEnvironmentAndAreChecked() throws Exception {
        Layer file = ConfigFile.read(write("""
                [storage]
                max-streams = 50_000
                max-open-files = 256
                file-mode = "rw-r-----"
                directory-mode = "rwxr-x---"
                """));
        Layer env = ServeSettings.environment(Map.of("WIREBUS_MAX_STREAMS", "100"));
        BrokerConfig config = ServeSettings.resolve(List.of(ServeSettings.defaults(), file, env)).toBrokerConfig();

        assertThat(config.maxStreams()).isEqualTo(100);
        assertThat(config.maxOpenFiles()).isEqualTo(256);
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(config.fileMode())).isEqualTo("rw-r-----");
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(config.directoryMode())).isEqualTo("rwxr-x---");
        assertThatThrownBy(() -> ServeSettings.resolve(List.of(ServeSettings.defaults(),
                ServeSettings.environment(Map.of("WIREBUS_MAX_OPEN_FILES", "4")))))
                .isInstanceOf(SettingsException.class).hasMessageContaining("WIREBUS_MAX_OPEN_FILES")
                .hasMessageContaining("at least 8");
        assertThatThrownBy(() -> ServeSettings.resolve(List.of(ServeSettings.defaults(),
                ServeSettings.environment(Map.of("WIREBUS_FILE_MODE", "---rw-rw-")))))
                .isInstanceOf(SettingsException.class).hasMessageContaining("WIREBUS_FILE_MODE")
                .hasMessageContaining("owner");
    }

    @Test
    void listenersTakeAPathOrAnAddressTrueForTheDefaultAndFalseForNone() throws Exception {
        ServeSettings s = ServeSettings.resolve(List.of(ServeSettings.defaults(), ConfigFile.read(write("""
                uds = 'run/w.sock'
                tcp = false
                """))));
        BrokerConfig config = s.toBrokerConfig();

        assertThat(config.unixSocket()).isEqualTo(Path.of("run/w.sock").toAbsolutePath());
        assertThat(config.tcp()).isNull();
        assertThat(ServeSettings.resolve(List.of(ServeSettings.defaults(),
                ServeSettings.environment(Map.of("WIREBUS_UDS", "false", "WIREBUS_TCP", "localhost:0")))).toBrokerConfig())
                .satisfies(c -> {
                    assertThat(c.unixSocket()).isNull();
                    assertThat(c.tcp().getPort()).isZero();
                });
        assertThatThrownBy(() -> ServeSettings.resolve(List.of(ServeSettings.defaults(), ConfigFile.read(write("""
                uds = false
                tcp = false
                """)))))
                .isInstanceOf(SettingsException.class)
                .hasMessage("nothing to listen on: the Unix socket is off (" + dir.resolve("w.toml")
                        + ": uds) and so is TCP (" + dir.resolve("w.toml") + ": tcp)");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "durability = 'always'|durability: unknown key here; it belongs in [storage]",
        "retention-age = '1h'|retention-age: unknown key; write it as [retention] age",
        "colour = 'blue'|colour: unknown key (top-level keys: uds, tcp, socket-mode, server-name, io-threads, "
                + "shutdown-grace; tables: [storage], [retention], [limits], [http])",
        "[store]\\nkind = 'disk'|[store]: unknown table (tables: [storage], [retention], [limits], [http])",
        "[limits]\\nuds = 'x'|[limits] uds: unknown key here; it belongs at the top level, before any table",
        "storage = 'disk'|storage: must be a table, [storage], not a value",
        "[retention]\\nmessages = [1, 2]|[retention] messages: must be a single value, not an array",
        "[retention]\\nmessages = 'lots'|[retention] messages: 'lots' is not a whole number",
        "[retention]\\nmessages = 0|[retention] messages: must be at least 1, was 0",
        "[limits]\\nmax-frame-bytes = '4GiB'|[limits] max-frame-bytes: '4GiB' is too large: at most 2147483647 "
                + "bytes (2GiB - 1)",
        "[limits]\\nhandshake-timeout = '0s'|[limits] handshake-timeout: duration '0s' must be more than zero",
        "socket-mode = 'rw-'|socket-mode: 'rw-' is not of the form rw-rw----",
        "tcp = 'localhost'|tcp: 'localhost' is not HOST:PORT (e.g. 127.0.0.1:7440)",
        "[storage]\\nstore = 'tape'|[storage] store: 'tape' is not disk, memory or a redis:// address",
        "a = 1\\na = 2|line 2, column 6: not valid TOML: Duplicate key",
        "[streams.blocks]\\ncolour = 'red'|[streams.blocks] colour: unknown key (keys of a stream: retention-messages, "
                + "retention-bytes, retention-age, durability, max-message-bytes)",
        "[streams.blocks]\\ndurability = 'sometimes'|[streams.blocks] durability: 'sometimes' is not always, batch or never",
        "streams = 1|streams: must be tables, [streams.NAME], not a value",
    })
    void aBadFileIsOneLineNamingTheFileAndTheKey(String toml, String problem) throws Exception {
        Path file = write(toml.replace("\\n", "\n"));

        assertThatThrownBy(() -> ConfigFile.read(file))
                .isInstanceOf(SettingsException.class)
                .hasMessage(file + ": " + problem)
                .satisfies(e -> assertThat(((SettingsException) e).onCommandLine()).isFalse());
    }

    @Test
    void anEmptyFileSetsNothingAndZeroDurationsAreTakenWhereTheBrokerTakesThem() throws Exception {
        assertThat(ConfigFile.read(write("# nothing here\n")).values()).isEmpty();

        Layer zeros = ConfigFile.read(write("shutdown-grace = '0'\n[storage]\nsync-interval = '0ms'\n"));

        assertThat(zeros.values()).containsEntry(Setting.SHUTDOWN_GRACE, Duration.ZERO)
                .containsEntry(Setting.SYNC_INTERVAL, Duration.ZERO);
    }

    @Test
    void streamTablesOverrideTheBrokerForOneStream() throws Exception {
        ServeSettings s = ServeSettings.resolve(List.of(ServeSettings.defaults(), ConfigFile.read(write("""
                [storage]
                durability = "always"
                [streams.metrics]
                durability = "never"
                retention-age = "1h"
                max-message-bytes = "1KiB"
                [streams."chat.session-42"]
                retention-messages = 500
                """))));
        var config = s.toBrokerConfig();
        assertThat(config.durability("metrics")).isEqualTo(dev.wirebus.server.BrokerConfig.Durability.NEVER);
        assertThat(config.durability("blocks")).isEqualTo(dev.wirebus.server.BrokerConfig.Durability.ALWAYS);
        assertThat(config.retentionAge("metrics")).isEqualTo(java.time.Duration.ofHours(1));
        assertThat(config.maxMessageBytes("metrics")).isEqualTo(1024);
        assertThat(config.retentionMessages("chat.session-42")).isEqualTo(500);
        assertThat(config.retentionMessages("blocks")).isEqualTo(config.retentionMessages());
    }

    @Test
    void aDirectoryIsNotAConfigFile() {
        assertThatThrownBy(() -> ConfigFile.read(dir))
                .hasMessage(dir + ": is a directory, not a config file");
    }

    @Test
    void sizesTakeBinaryUnitsAndRefuseDecimalOnes() {
        assertThat(Sizes.parse("4096")).isEqualTo(4096);
        assertThat(Sizes.parse("64KiB")).isEqualTo(64L << 10);
        assertThat(Sizes.parse("64MiB")).isEqualTo(64L << 20);
        assertThat(Sizes.parse("1GiB")).isEqualTo(1L << 30);
        assertThat(Sizes.parse("2 tib")).isEqualTo(2L << 40);
        assertThat(Sizes.parse("10B")).isEqualTo(10);
        assertThat(Sizes.format(1L << 30)).isEqualTo("1GiB");
        assertThat(Sizes.format(1536L << 10)).isEqualTo("1536KiB");
        assertThat(Sizes.format(100)).isEqualTo("100");
        for (String bad : Arrays.asList("", "-1", "1.5GiB", "MiB", "12 parsecs", "64MB")) {
            assertThatThrownBy(() -> Sizes.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("'" + bad + "' is not a size like 4096, 64KiB, 64MiB, 1GiB");
        }
        assertThatThrownBy(() -> Sizes.parse("99999999TiB")).hasMessage("'99999999TiB' is too large a size");
    }

    private Path write(String toml) throws Exception {
        return Files.writeString(dir.resolve("w.toml"), toml);
    }

    @Test
    void httpSettingsComeFromTheFileTheEnvironmentAndFlagsIntoTheGatewayLimits() throws Exception {
        Layer file = ConfigFile.read(write("""
                [http]
                listen = "0.0.0.0:8080"
                rate-limit = "6000/min"
                max-body = "64KiB"
                idle-timeout = "5m"
                """));
        Layer env = ServeSettings.environment(Map.of("WIREBUS_HTTP_MAX_BODY", "128KiB",
                "WIREBUS_HTTP_MAX_CONNECTIONS", "50", "WIREBUS_HTTP_MAX_IN_FLIGHT_PER_CLIENT", "32",
                "WIREBUS_HTTP_IO_THREADS", "3"));
        Layer flags = new Layer().parse(Setting.HTTP_MAX_CONNECTIONS, "60",
                new ServeSettings.Origin("--http-max-connections", true))
                .parse(Setting.HTTP_MAX_CONNECTIONS_PER_CLIENT, "7",
                        new ServeSettings.Origin("--http-max-connections-per-client", true));

        HttpSettings http = ServeSettings.resolve(List.of(ServeSettings.defaults(), file, env, flags)).toHttpSettings();

        assertThat(http.listen()).isEqualTo(new HostPort("0.0.0.0", 8080));
        assertThat(http.limits().ratePermits()).isEqualTo(6000);
        assertThat(http.limits().ratePeriod()).isEqualTo(Duration.ofMinutes(1));
        assertThat(http.limits().maxBodyBytes()).isEqualTo(128 * 1024);
        assertThat(http.limits().maxConnections()).isEqualTo(60);
        assertThat(http.limits().maxInFlightPerClient()).isEqualTo(32);
        assertThat(http.limits().maxConnectionsPerClient()).isEqualTo(7);
        assertThat(http.limits().idleTimeout()).isEqualTo(Duration.ofMinutes(5));
        assertThat(http.limits().headerTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(http.effectiveIoThreads()).isEqualTo(3);
        assertThat(ServeSettings.resolve(List.of(ServeSettings.defaults())).toHttpSettings().effectiveIoThreads())
                .as("half the cores, at least one").isEqualTo(Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
    }

    @Test
    void httpOffRunsNoGatewayAndBadHttpValuesNameTheirSource() throws Exception {
        Layer off = ServeSettings.environment(Map.of("WIREBUS_HTTP", "off"));
        assertThat(ServeSettings.resolve(List.of(ServeSettings.defaults(), off)).toHttpSettings().listen()).isNull();

        assertThatThrownBy(() -> ServeSettings.environment(Map.of("WIREBUS_HTTP_RATE_LIMIT", "fast")))
                .isInstanceOf(SettingsException.class)
                .hasMessage("WIREBUS_HTTP_RATE_LIMIT: 'fast' is not a rate like 50/s, 6000/min or 100000/h");
        assertThatThrownBy(() -> ConfigFile.read(write("""
                [http]
                max-header-size = 100
                """))).isInstanceOf(SettingsException.class)
                .hasMessageEndingWith("[http] max-header-size: must be at least 1024, was 100");
    }
}
