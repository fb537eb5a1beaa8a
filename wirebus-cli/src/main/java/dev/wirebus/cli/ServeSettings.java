package dev.wirebus.cli;

import dev.wirebus.gateway.GatewayLimits;
import dev.wirebus.protocol.Defaults;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.server.StreamSettings;
import picocli.CommandLine;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The settings of {@code wirebus serve} and where each one came from. Every setting has one name
 * per source: a key in the config file (in a table or at the top level), an environment variable
 * and a flag, e.g. {@code [storage] sync-interval}, {@code WIREBUS_SYNC_INTERVAL} and
 * {@code --sync-interval}. Sources are {@link Layer}s, resolved lowest first: built-in defaults,
 * the config file, the environment, the command line.
 *
 * <pre>{@code
 * ServeSettings s = ServeSettings.resolve(List.of(
 *         ServeSettings.defaults(),
 *         ConfigFile.read(Path.of("wirebus.toml")),
 *         ServeSettings.environment(System.getenv())));
 * BrokerConfig config = s.toBrokerConfig();
 * }</pre>
 *
 * <p>Every value is parsed and checked by the broker's own rules as soon as it is read, so a bad
 * value is reported with the place it came from ({@code wirebus.toml: [retention] age: ...},
 * {@code WIREBUS_RETENTION_AGE: ...}, {@code --retention-age ...}) even when a higher source
 * overrides it.
 */
final class ServeSettings {

    /** Special values of the {@code uds} and {@code tcp} settings besides a path or an address. */
    enum Listener {
        /** The default Unix socket: {@link Defaults#unixSocket()}. */
        DEFAULT,
        /** No listener of this kind. */
        OFF
    }

    /** Table names of the config file, in the order they are documented. */
    static final List<String> TABLES = List.of("storage", "retention", "limits", "http");

    /** One setting of the broker, with its names and how to read, check and apply a value. */
    enum Setting {
        UDS(null, "uds", "--uds", ServeSettings::unixSocket, ServeSettings::applyUnixSocket,
                c -> Listener.DEFAULT),
        TCP(null, "tcp", "--tcp", ServeSettings::tcp, ServeSettings::applyTcp,
                c -> new HostPort("127.0.0.1", Defaults.TCP_PORT)),
        SOCKET_MODE(null, "socket-mode", "--socket-mode", ServeSettings::socketMode,
                (b, v) -> b.socketPermissions((String) v),
                c -> PosixFilePermissions.toString(c.socketPermissions())),
        SERVER_NAME(null, "server-name", "--server-name", ServeSettings::serverName,
                (b, v) -> b.serverName((String) v), BrokerConfig::serverName),
        IO_THREADS(null, "io-threads", "--io-threads", ServeSettings::intCount,
                (b, v) -> b.ioThreads((Integer) v), BrokerConfig::ioThreads),
        SHUTDOWN_GRACE(null, "shutdown-grace", "--shutdown-grace", DurationConverter::parseAllowingZero,
                (b, v) -> b.shutdownGrace((Duration) v), BrokerConfig::shutdownGrace),

        STORE("storage", "store", "--store", ServeSettings::store,
                (b, v) -> b.storage((BrokerConfig.Storage) v),
                // serve keeps streams on disk; an embedded broker defaults to memory
                c -> BrokerConfig.Storage.DISK),
        DATA("storage", "data", "--data", ServeSettings::path,
                (b, v) -> b.dataDirectory((Path) v), c -> c.dataDirectory().normalize()),
        DURABILITY("storage", "durability", "--durability", ServeSettings::durability,
                (b, v) -> b.durability((BrokerConfig.Durability) v), BrokerConfig::durability),
        SYNC_INTERVAL("storage", "sync-interval", "--sync-interval", DurationConverter::parseAllowingZero,
                (b, v) -> b.syncInterval((Duration) v), BrokerConfig::syncInterval),
        SYNC_BYTES("storage", "sync-bytes", "--sync-bytes", Sizes::parse,
                (b, v) -> b.syncBytes((Long) v), BrokerConfig::syncBytes),
        SEGMENT_BYTES("storage", "segment-bytes", "--segment-bytes", Sizes::parse,
                (b, v) -> b.segmentBytes((Long) v), BrokerConfig::segmentBytes),
        MAX_STREAMS("storage", "max-streams", "--max-streams", ServeSettings::intCount,
                (b, v) -> b.maxStreams((Integer) v), BrokerConfig::maxStreams),
        MAX_OPEN_FILES("storage", "max-open-files", "--max-open-files", ServeSettings::intCount,
                (b, v) -> b.maxOpenFiles((Integer) v), BrokerConfig::maxOpenFiles),
        FILE_MODE("storage", "file-mode", "--file-mode", ServeSettings::socketMode,
                (b, v) -> b.fileMode((String) v), c -> PosixFilePermissions.toString(c.fileMode())),
        DIRECTORY_MODE("storage", "directory-mode", "--directory-mode", ServeSettings::socketMode,
                (b, v) -> b.directoryMode((String) v), c -> PosixFilePermissions.toString(c.directoryMode())),

        RETENTION_MESSAGES("retention", "messages", "--retention-messages", ServeSettings::count,
                (b, v) -> b.retentionMessages((Long) v), BrokerConfig::retentionMessages),
        RETENTION_BYTES("retention", "bytes", "--retention-bytes", Sizes::parse,
                (b, v) -> b.retentionBytes((Long) v), BrokerConfig::retentionBytes),
        RETENTION_AGE("retention", "age", "--retention-age", ServeSettings::durationOrNone,
                ServeSettings::applyRetentionAge, c -> Optional.ofNullable(c.retentionAge())),

        MAX_FRAME_BYTES("limits", "max-frame-bytes", "--max-frame-bytes", ServeSettings::intSize,
                (b, v) -> b.maxFrameLength((Integer) v), BrokerConfig::maxFrameLength),
        MAX_MESSAGE_BYTES("limits", "max-message-bytes", "--max-message-bytes", ServeSettings::intSize,
                (b, v) -> b.maxMessageBytes((Integer) v), BrokerConfig::maxMessageBytes),
        MAX_REQUEST_TIMEOUT("limits", "max-request-timeout", "--max-request-timeout", DurationConverter::parse,
                (b, v) -> b.maxRequestTimeout((Duration) v), BrokerConfig::maxRequestTimeout),
        HANDSHAKE_TIMEOUT("limits", "handshake-timeout", "--handshake-timeout", DurationConverter::parse,
                (b, v) -> b.handshakeTimeout((Duration) v), BrokerConfig::handshakeTimeout),
        PUBLISH_WAIT("limits", "publish-wait", "--publish-wait", DurationConverter::parse,
                (b, v) -> b.publishWait((Duration) v), BrokerConfig::publishWait),
        // connection limits (issue 11): output budget, frame deadline, partial frames, connection counts, idleness
        OUTPUT_BUFFER("limits", "output-buffer", "--output-buffer", ServeSettings::intSize,
                (b, v) -> b.outputHighWater((Integer) v), BrokerConfig::outputHighWater),
        MAX_OUTPUT_BYTES("limits", "max-output-bytes", "--max-output-bytes", Sizes::parse,
                (b, v) -> b.maxOutputBytes((Long) v), BrokerConfig::maxOutputBytes),
        SLOW_CONSUMER_TIMEOUT("limits", "slow-consumer-timeout", "--slow-consumer-timeout", DurationConverter::parse,
                (b, v) -> b.slowConsumerTimeout((Duration) v), BrokerConfig::slowConsumerTimeout),
        FRAME_READ_TIMEOUT("limits", "frame-read-timeout", "--frame-read-timeout", DurationConverter::parse,
                (b, v) -> b.frameReadTimeout((Duration) v), BrokerConfig::frameReadTimeout),
        MAX_PARTIAL_FRAME_BYTES("limits", "max-partial-frame-bytes", "--max-partial-frame-bytes", Sizes::parse,
                (b, v) -> b.maxPartialFrameBytes((Long) v), BrokerConfig::maxPartialFrameBytes),
        MAX_CONNECTIONS("limits", "max-connections", "--max-connections", ServeSettings::intCount,
                (b, v) -> b.maxConnections((Integer) v), BrokerConfig::maxConnections),
        MAX_CONNECTIONS_PER_PEER("limits", "max-connections-per-peer", "--max-connections-per-peer",
                ServeSettings::intCount, (b, v) -> b.maxConnectionsPerPeer((Integer) v),
                BrokerConfig::maxConnectionsPerPeer),
        IDLE_TIMEOUT("limits", "idle-timeout", "--idle-timeout", DurationConverter::parseAllowingZero,
                (b, v) -> b.idleTimeout((Duration) v), BrokerConfig::idleTimeout),

        // the HTTP gateway: checked by GatewayLimits' own rules as they are read; the broker ignores them
        HTTP("http", "listen", "--http", ServeSettings::httpListener, ServeSettings::notTheBrokers,
                c -> new HostPort("127.0.0.1", HttpSettings.DEFAULT_PORT)),
        HTTP_RATE_LIMIT("http", "rate-limit", "--http-rate-limit", HttpRate::parse, ServeSettings::notTheBrokers,
                c -> HttpRate.of(GATEWAY_DEFAULTS)),
        HTTP_MAX_BODY("http", "max-body", "--http-max-body",
                t -> gateway(intSize(t), (g, n) -> g.maxBodyBytes(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxBodyBytes()),
        HTTP_MAX_HEADER_SIZE("http", "max-header-size", "--http-max-header-size",
                t -> gateway(intSize(t), (g, n) -> g.maxHeaderBytes(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxHeaderBytes()),
        HTTP_REQUEST_TIMEOUT("http", "request-timeout", "--http-request-timeout", DurationConverter::parse,
                ServeSettings::notTheBrokers, c -> GATEWAY_DEFAULTS.requestTimeout()),
        HTTP_MAX_IN_FLIGHT("http", "max-in-flight", "--http-max-in-flight",
                t -> gateway(intCount(t), (g, n) -> g.maxInFlight(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxInFlight()),
        HTTP_MAX_IN_FLIGHT_PER_CLIENT("http", "max-in-flight-per-client", "--http-max-in-flight-per-client",
                t -> gateway(intCount(t), (g, n) -> g.maxInFlightPerClient(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxInFlightPerClient()),
        HTTP_MAX_CONNECTIONS("http", "max-connections", "--http-max-connections",
                t -> gateway(intCount(t), (g, n) -> g.maxConnections(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxConnections()),
        HTTP_MAX_CONNECTIONS_PER_CLIENT("http", "max-connections-per-client", "--http-max-connections-per-client",
                t -> gateway(intCount(t), (g, n) -> g.maxConnectionsPerClient(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxConnectionsPerClient()),
        HTTP_IDLE_TIMEOUT("http", "idle-timeout", "--http-idle-timeout", DurationConverter::parse,
                ServeSettings::notTheBrokers, c -> GATEWAY_DEFAULTS.idleTimeout()),
        HTTP_HEADER_TIMEOUT("http", "header-timeout", "--http-header-timeout", DurationConverter::parse,
                ServeSettings::notTheBrokers, c -> GATEWAY_DEFAULTS.headerTimeout()),
        HTTP_SUBSCRIBER_BUFFER("http", "subscriber-buffer", "--http-subscriber-buffer",
                t -> gateway(intSize(t), (g, n) -> g.subscriberBufferBytes(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.subscriberBufferBytes()),
        HTTP_IO_THREADS("http", "io-threads", "--http-io-threads", ServeSettings::intCount,
                ServeSettings::notTheBrokers, c -> 0),
        HTTP_MAX_PIPELINED("http", "max-pipelined", "--http-max-pipelined",
                t -> gateway(intCount(t), (g, n) -> g.maxPipelined(n)), ServeSettings::notTheBrokers,
                c -> GATEWAY_DEFAULTS.maxPipelined()),
        // the gateway's browser safety and TLS (issue 13): parsed and resolved by GatewaySettings
        HTTP_ALLOWED_ORIGINS("http", "allowed-origins", "--http-allowed-origins", GatewaySettings::origins,
                ServeSettings::notTheBrokers, c -> List.of()),
        HTTP_ALLOWED_HOSTS("http", "allowed-hosts", "--http-allowed-hosts", GatewaySettings::hosts,
                ServeSettings::notTheBrokers, c -> List.of()),
        HTTP_DEMO("http", "demo", "--http-demo", GatewaySettings::onOff, ServeSettings::notTheBrokers, c -> true),
        HTTP_TLS_CERT("http", "tls-cert", "--http-tls-cert", GatewaySettings::optionalPath,
                ServeSettings::notTheBrokers, c -> Optional.empty()),
        HTTP_TLS_KEY("http", "tls-key", "--http-tls-key", GatewaySettings::optionalPath,
                ServeSettings::notTheBrokers, c -> Optional.empty());

        private final String table;
        private final String key;
        private final String flag;
        private final Function<String, Object> parser;
        private final BiConsumer<BrokerConfig.Builder, Object> applier;
        private final Function<BrokerConfig, Object> builtIn;

        Setting(String table, String key, String flag, Function<String, ?> parser,
                BiConsumer<BrokerConfig.Builder, Object> applier, Function<BrokerConfig, ?> builtIn) {
            this.table = table;
            this.key = key;
            this.flag = flag;
            this.parser = parser::apply;
            this.applier = applier;
            this.builtIn = builtIn::apply;
        }

        /** The table this setting is in in the config file, or null for a top-level key. */
        String table() {
            return table;
        }

        /** The key within its table (or at the top level). */
        String key() {
            return key;
        }

        /** The key as written in messages: {@code uds}, {@code [retention] age}. */
        String path() {
            return table == null ? key : "[" + table + "] " + key;
        }

        /** The command-line flag, e.g. {@code --retention-age}. */
        String flag() {
            return flag;
        }

        /** The environment variable: WIREBUS_ and the flag in upper snake case, e.g. {@code WIREBUS_RETENTION_AGE}. */
        String envName() {
            return "WIREBUS_" + flag.substring(2).replace('-', '_').toUpperCase(Locale.ROOT);
        }

        /** The setting with this key in this table (null for the top level), if any. */
        static Optional<Setting> find(String table, String key) {
            for (Setting s : values()) {
                if (Objects.equals(s.table, table) && s.key.equals(key)) {
                    return Optional.of(s);
                }
            }
            return Optional.empty();
        }

        /** The keys of one table (null: the top level), in order. */
        static List<String> keysOf(String table) {
            List<String> keys = new ArrayList<>();
            for (Setting s : values()) {
                if (Objects.equals(s.table, table)) {
                    keys.add(s.key);
                }
            }
            return keys;
        }
    }

    /**
     * An invalid setting: the message names where it came from and what is wrong, on one line.
     * {@link #onCommandLine()} tells whether the command line is to blame (usage help applies).
     */
    static final class SettingsException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final boolean onCommandLine;

        SettingsException(String message, boolean onCommandLine) {
            super(message, null, false, false);
            this.onCommandLine = onCommandLine;
        }

        boolean onCommandLine() {
            return onCommandLine;
        }
    }

    /** Where a value came from: {@code --data}, {@code WIREBUS_DATA}, {@code wirebus.toml: [storage] data}. */
    record Origin(String where, boolean onCommandLine) {
        static final Origin DEFAULT = new Origin("default", false);

        /** A problem with the value from here, e.g. {@code --store 'tape' is not ...}. */
        SettingsException problem(String what) {
            return new SettingsException(where + (onCommandLine ? " " : ": ") + what, onCommandLine);
        }
    }

    /** The values one source gives, each parsed and checked as it is put. */
    static final class Layer {
        private final EnumMap<Setting, Object> values = new EnumMap<>(Setting.class);
        private final EnumMap<Setting, Origin> origins = new EnumMap<>(Setting.class);
        /** Per-stream overrides ({@code [streams.NAME]} tables of the config file). */
        private final Map<String, StreamSettings> streams = new java.util.LinkedHashMap<>();

        /** The {@code [security]} table of a config file, if this layer is one that has it. */
        private SecuritySettings security;

        /** Sets the access configuration. */
        Layer security(SecuritySettings settings) {
            this.security = settings;
            return this;
        }

        /** The {@code [security]} table this layer read, or {@link SecuritySettings#NONE}. */
        SecuritySettings securitySettings() {
            return security == null ? SecuritySettings.NONE : security;
        }

        /** Sets one stream's overrides. */
        Layer stream(String name, StreamSettings settings) {
            streams.put(name, settings);
            return this;
        }

        /** Sets {@code setting} to {@code text} parsed, or fails naming {@code origin}. */
        Layer parse(Setting setting, String text, Origin origin) {
            Object value;
            try {
                value = setting.parser.apply(text);
            } catch (IllegalArgumentException | CommandLine.TypeConversionException e) {
                throw origin.problem(e.getMessage());
            }
            return put(setting, value, origin);
        }

        /** Sets {@code setting} to a value of its type, once the broker's builder accepts it. */
        Layer put(Setting setting, Object value, Origin origin) {
            try {
                setting.applier.accept(BrokerConfig.builder(), value);
            } catch (IllegalArgumentException e) {
                // the builder names its own field first ("segmentBytes must be ..."): the origin says it better
                throw origin.problem(e.getMessage().replaceFirst("^[a-z]+[A-Z][a-zA-Z]* ", ""));
            }
            values.put(setting, value);
            origins.put(setting, origin);
            return this;
        }

        /** The values this source sets. */
        Map<Setting, Object> values() {
            return Collections.unmodifiableMap(values);
        }
    }

    private final EnumMap<Setting, Object> values;
    private final EnumMap<Setting, Origin> origins;
    private final Map<String, StreamSettings> streams;
    private SecuritySettings security = SecuritySettings.NONE;
    private boolean insecure;

    private ServeSettings(EnumMap<Setting, Object> values, EnumMap<Setting, Origin> origins,
                          Map<String, StreamSettings> streams) {
        this.values = values;
        this.origins = origins;
        this.streams = streams;
    }

    /** Every setting at its built-in default: the broker's own, except that streams are kept on disk. */
    static Layer defaults() {
        BrokerConfig reference = BrokerConfig.builder().tcp(new InetSocketAddress("127.0.0.1", 0)).build();
        Layer layer = new Layer();
        for (Setting s : Setting.values()) {
            layer.put(s, s.builtIn.apply(reference), Origin.DEFAULT);
        }
        return layer;
    }

    /** The settings given by {@code WIREBUS_*} variables; blank ones count as unset. */
    static Layer environment(Map<String, String> environment) {
        Layer layer = new Layer();
        for (Setting s : Setting.values()) {
            String text = environment.get(s.envName());
            if (text != null && !text.isBlank()) {
                layer.parse(s, text, new Origin(s.envName(), false));
            }
        }
        return layer;
    }

    /** Every setting from the highest layer that sets it; {@code layers} start with {@link #defaults()}. */
    static ServeSettings resolve(List<Layer> layers) {
        EnumMap<Setting, Object> values = new EnumMap<>(Setting.class);
        EnumMap<Setting, Origin> origins = new EnumMap<>(Setting.class);
        Map<String, StreamSettings> streams = new java.util.LinkedHashMap<>();
        SecuritySettings security = SecuritySettings.NONE;
        for (Layer layer : layers) {
            values.putAll(layer.values);
            origins.putAll(layer.origins);
            streams.putAll(layer.streams);
            security = layer.security != null ? layer.security : security;
        }
        if (values.size() != Setting.values().length) {
            throw new IllegalArgumentException("the lowest layer must be the defaults");
        }
        ServeSettings settings = new ServeSettings(values, origins, streams);
        settings.security = security;
        settings.checkTogether();
        return settings;
    }

    /** The settings whose values only make sense together. */
    private void checkTogether() {
        Origin uds = origins.get(Setting.UDS);
        Origin tcp = origins.get(Setting.TCP);
        if (values.get(Setting.UDS) == Listener.OFF && values.get(Setting.TCP) == Listener.OFF) {
            throw new SettingsException("nothing to listen on: the Unix socket is off (" + uds.where()
                    + ") and so is TCP (" + tcp.where() + ")", uds.onCommandLine() && tcp.onCommandLine());
        }
        // the broker quietly caps the message size to fit a frame: fine for the default, not for a value asked for
        int frame = (Integer) values.get(Setting.MAX_FRAME_BYTES);
        int message = (Integer) values.get(Setting.MAX_MESSAGE_BYTES);
        Origin messageOrigin = origins.get(Setting.MAX_MESSAGE_BYTES);
        if (messageOrigin != Origin.DEFAULT && message > frame - 512) {
            throw messageOrigin.problem("must leave 512 bytes of a frame for headers: at most " + (frame - 512)
                    + " with max-frame-bytes " + Sizes.format(frame) + ", was " + Sizes.format(message));
        }
        long outputCap = (Long) values.get(Setting.MAX_OUTPUT_BYTES);
        long leastCap = (long) (Integer) values.get(Setting.OUTPUT_BUFFER) + frame + (4L << 20) + 4096;
        Origin capOrigin = origins.get(Setting.MAX_OUTPUT_BYTES);
        if (capOrigin != Origin.DEFAULT && outputCap < leastCap) {
            throw capOrigin.problem("must hold output-buffer + max-frame-bytes + 4MiB (one FETCH answer): at least "
                    + leastCap + ", was " + Sizes.format(outputCap));
        }
    }

    /** Allows a non-loopback listener without authentication ({@code --insecure}, {@code WIREBUS_INSECURE}). */
    ServeSettings insecure(boolean insecure) {
        this.insecure = insecure;
        return this;
    }

    /** The access configuration of the config file's {@code [security]} table. */
    SecuritySettings security() {
        return security;
    }

    /** The value of {@code setting}. */
    Object get(Setting setting) {
        return values.get(setting);
    }

    /** Where the value of {@code setting} came from. */
    Origin origin(Setting setting) {
        return origins.get(setting);
    }

    /** Every setting and its value. */
    Map<Setting, Object> values() {
        return Collections.unmodifiableMap(values);
    }

    /** The HTTP gateway's address (null when off) and limits. */
    HttpSettings toHttpSettings() {
        Object listen = values.get(Setting.HTTP);
        HttpRate rate = (HttpRate) values.get(Setting.HTTP_RATE_LIMIT);
        GatewayLimits limits = GatewayLimits.builder()
                .rateLimit(rate.permits(), rate.period())
                .maxBodyBytes((Integer) values.get(Setting.HTTP_MAX_BODY))
                .maxHeaderBytes((Integer) values.get(Setting.HTTP_MAX_HEADER_SIZE))
                .requestTimeout((Duration) values.get(Setting.HTTP_REQUEST_TIMEOUT))
                .maxInFlight((Integer) values.get(Setting.HTTP_MAX_IN_FLIGHT))
                .maxInFlightPerClient((Integer) values.get(Setting.HTTP_MAX_IN_FLIGHT_PER_CLIENT))
                .maxConnections((Integer) values.get(Setting.HTTP_MAX_CONNECTIONS))
                .maxConnectionsPerClient((Integer) values.get(Setting.HTTP_MAX_CONNECTIONS_PER_CLIENT))
                .idleTimeout((Duration) values.get(Setting.HTTP_IDLE_TIMEOUT))
                .headerTimeout((Duration) values.get(Setting.HTTP_HEADER_TIMEOUT))
                .subscriberBufferBytes((Integer) values.get(Setting.HTTP_SUBSCRIBER_BUFFER))
                .maxPipelined((Integer) values.get(Setting.HTTP_MAX_PIPELINED))
                .build();
        return new HttpSettings(listen == Listener.OFF ? null : (HostPort) listen, limits,
                (Integer) values.get(Setting.HTTP_IO_THREADS));
    }

    /** The broker configuration of these settings. */
    BrokerConfig toBrokerConfig() {
        return toBrokerConfig(null);
    }

    /** The broker's configuration, its meters registered in {@code registry} when not null. */
    BrokerConfig toBrokerConfig(io.micrometer.core.instrument.MeterRegistry registry) {
        BrokerConfig.Builder b = BrokerConfig.builder();
        if (registry != null) {
            b.meterRegistry(registry);
        }
        values.forEach((setting, value) -> {
            // left at its default, the output cap grows with the frame size (BrokerConfig.Builder#build)
            if (setting != Setting.MAX_OUTPUT_BYTES || origins.get(setting) != Origin.DEFAULT) {
                setting.applier.accept(b, value);
            }
        });
        streams.forEach(b::stream);
        security.applyTo(b, insecure);
        return b.build();
    }

    // ---------------------------------------------------------------- values from text

    private static final GatewayLimits GATEWAY_DEFAULTS = GatewayLimits.defaults();

    /** Settings of the gateway leave the broker's configuration alone. */
    private static void notTheBrokers(BrokerConfig.Builder b, Object value) {
    }

    /** {@code value} once the gateway's builder accepts it, or its complaint without the builder's field name. */
    private static <T> T gateway(T value, BiConsumer<GatewayLimits.Builder, T> check) {
        try {
            check.accept(GatewayLimits.builder(), value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage().replaceFirst("^[a-z]+[A-Z][a-zA-Z]* ", ""));
        }
        return value;
    }

    private static Object httpListener(String text) {
        return switch (text.strip()) {
            case "true", "on" -> new HostPort("127.0.0.1", HttpSettings.DEFAULT_PORT);
            case "false", "off" -> Listener.OFF;
            default -> {
                HostPort hp = HostPort.parse(text);
                if (hp.toSocketAddress().isUnresolved()) {
                    throw new IllegalArgumentException("'" + hp + "': cannot resolve host '" + hp.host() + "'");
                }
                yield hp;
            }
        };
    }

    private static Object unixSocket(String text) {
        return switch (text.strip()) {
            case "true" -> Listener.DEFAULT;
            case "false" -> Listener.OFF;
            default -> path(text);
        };
    }

    private static void applyUnixSocket(BrokerConfig.Builder b, Object value) {
        b.unixSocket(value == Listener.OFF ? null
                : value == Listener.DEFAULT ? Defaults.unixSocket().toAbsolutePath().normalize() : (Path) value);
    }

    private static Object tcp(String text) {
        return switch (text.strip()) {
            case "true" -> new HostPort("127.0.0.1", Defaults.TCP_PORT);
            case "false" -> Listener.OFF;
            default -> {
                HostPort hp = HostPort.parse(text);
                if (hp.toSocketAddress().isUnresolved()) {
                    throw new IllegalArgumentException("'" + hp + "': cannot resolve host '" + hp.host() + "'");
                }
                yield hp;
            }
        };
    }

    private static void applyTcp(BrokerConfig.Builder b, Object value) {
        b.tcp(value == Listener.OFF ? null : ((HostPort) value).toSocketAddress());
    }

    private static Path path(String text) {
        if (text.isBlank()) {
            throw new IllegalArgumentException("an empty path");
        }
        try {
            return Path.of(text).toAbsolutePath().normalize();
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("'" + text + "' is not a path: " + e.getReason());
        }
    }

    private static String socketMode(String text) {
        try {
            return PosixFilePermissions.toString(PosixFilePermissions.fromString(text.strip()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + text + "' is not of the form rw-rw----");
        }
    }

    private static String serverName(String text) {
        if (text.isBlank()) {
            throw new IllegalArgumentException("the server name must not be empty");
        }
        if (text.getBytes(StandardCharsets.UTF_8).length > FrameCodec.MAX_STRING_BYTES) {
            throw new IllegalArgumentException("the server name must be at most " + FrameCodec.MAX_STRING_BYTES
                    + " bytes of UTF-8");
        }
        return text;
    }

    private static BrokerConfig.Storage store(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "disk" -> BrokerConfig.Storage.DISK;
            case "memory" -> BrokerConfig.Storage.MEMORY;
            default -> throw new IllegalArgumentException("'" + text + "' is not disk or memory");
        };
    }

    /** Keys of a {@code [streams.NAME]} table. */
    static final List<String> STREAM_KEYS = List.of("retention-messages", "retention-bytes", "retention-age",
            "durability", "max-message-bytes");

    /** One per-stream setting parsed onto {@code settings}, or a failure saying what is wrong. */
    static StreamSettings streamSetting(StreamSettings settings, String key, String text) {
        return switch (key) {
            case "retention-messages" -> settings.withRetentionMessages(count(text));
            case "retention-bytes" -> settings.withRetentionBytes(Sizes.parse(text));
            case "retention-age" -> settings.withRetentionAge(DurationConverter.parse(text));
            case "durability" -> settings.withDurability(durability(text));
            case "max-message-bytes" -> settings.withMaxMessageBytes(intSize(text));
            default -> throw new IllegalArgumentException("unknown key (keys of a stream: "
                    + String.join(", ", STREAM_KEYS) + ")");
        };
    }

    private static BrokerConfig.Durability durability(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "always" -> BrokerConfig.Durability.ALWAYS;
            case "batch" -> BrokerConfig.Durability.BATCH;
            case "never" -> BrokerConfig.Durability.NEVER;
            default -> throw new IllegalArgumentException("'" + text + "' is not always, batch or never");
        };
    }

    private static Long count(String text) {
        try {
            return Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is "
                    + (text.strip().matches("-?\\d+") ? "too large" : "not a whole number"));
        }
    }

    private static Integer intCount(String text) {
        long n = count(text);
        if (n != (int) n) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return (int) n;
    }

    private static Integer intSize(String text) {
        long n = Sizes.parse(text);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + text + "' is too large: at most " + Integer.MAX_VALUE
                    + " bytes (2GiB - 1)");
        }
        return (int) n;
    }

    private static Optional<Duration> durationOrNone(String text) {
        if (text.strip().equals("none")) {
            return Optional.empty();
        }
        return Optional.of(DurationConverter.parse(text));
    }

    private static void applyRetentionAge(BrokerConfig.Builder b, Object value) {
        @SuppressWarnings("unchecked")
        Optional<Duration> age = (Optional<Duration>) value;
        b.retentionAge(age.orElse(null));
    }
}
