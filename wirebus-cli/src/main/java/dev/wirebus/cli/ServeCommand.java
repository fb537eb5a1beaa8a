package dev.wirebus.cli;

import dev.wirebus.cli.ServeSettings.Layer;
import dev.wirebus.cli.ServeSettings.Origin;
import dev.wirebus.cli.ServeSettings.Setting;
import dev.wirebus.cli.ServeSettings.SettingsException;
import dev.wirebus.protocol.Defaults;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code wirebus serve}: runs a broker in the foreground until SIGINT or SIGTERM, then shuts it down
 * gracefully (clients told, in-flight requests given their grace period, socket file removed) and
 * exits 0.
 */
@Command(name = "serve",
        sortOptions = false,
        description = {
            "Run a broker in the foreground until Ctrl-C or SIGTERM, then shut it down gracefully and exit 0.",
            "",
            "Prints on stdout the config file used (if any), where it listens, where streams are stored, their "
                    + "retention, the I/O transport (epoll or nio), then 'ready'. Streams are kept on disk under --data "
                    + "by default: a restart or a crash loses no acknowledged message.",
            "",
            "Every setting below can also come from the --config file (TOML) or from an environment variable named "
                    + "WIREBUS_ and the flag in upper case, e.g. --sync-interval: [storage] sync-interval in the file, "
                    + "WIREBUS_SYNC_INTERVAL=2ms. Lowest to highest: built-in defaults, the file, the environment, "
                    + "the flags. Sizes: 4096, 64KiB, 64MiB, 1GiB; durations: 500ms, 10s, 2m, 1h. "
                    + "See docs/configuration.md and wirebus.example.toml.",
        })
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    /** Where WIREBUS_* settings are read from: the process environment, or a map in tests. */
    private final Supplier<Map<String, String>> environment;

    ServeCommand() {
        this(System::getenv);
    }

    ServeCommand(Supplier<Map<String, String>> environment) {
        this.environment = environment;
    }

    @Option(names = "--config", paramLabel = "FILE",
            description = "TOML file of settings (see wirebus.example.toml); the environment and flags override it.")
    Path configFile;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    UnixListener unix;

    static final class UnixListener {
        @Option(names = "--uds", paramLabel = "PATH",
                description = "Unix socket to listen on (default: $WIREBUS_SOCKET, else $XDG_RUNTIME_DIR/wirebus.sock, "
                        + "else ./wirebus.sock). A stale socket file there is replaced; a live broker is not.")
        Path path;

        @Option(names = "--no-uds", description = "Do not listen on a Unix socket.")
        boolean none;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    TcpListener tcp;

    static final class TcpListener {
        @Option(names = "--tcp", paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
                description = "TCP address to listen on (default: 127.0.0.1:" + Defaults.TCP_PORT
                        + "); port 0 picks a free port, printed at start.")
        HostPort address;

        @Option(names = "--no-tcp", description = "Do not listen on TCP.")
        boolean none;
    }

    @Option(names = "--socket-mode", paramLabel = "MODE",
            description = "Permissions of the socket file, e.g. rw-rw---- to let the group connect "
                    + "(default: rw-------).")
    String socketMode;

    @Option(names = "--store", paramLabel = "disk|memory|redis://HOST:PORT",
            description = "Where streams live: segment files under --data, memory (gone at stop), or Redis shared "
                    + "by several brokers (redis://, rediss://, redis-sentinel://, redis-cluster://; docs/redis.md) "
                    + "(default: disk).")
    String store;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Data directory of the disk store, created if missing; one broker at a time "
                    + "(default: ./data).")
    String data;

    @Option(names = "--durability", paramLabel = "always|batch|never",
            description = "When a disk publish is acknowledged: always = after an fsync that starts at once "
                    + "(concurrent publishes share it); batch = after the fsync that covers it, fsyncs at most every "
                    + "--sync-interval; never = once in the page cache (a machine crash may lose the last writes) "
                    + "(default: always).")
    String durability;

    @Option(names = "--sync-interval", paramLabel = "DURATION",
            description = "Longest a publish waits for its fsync under --durability batch (default: 5ms).")
    String syncInterval;

    @Option(names = "--sync-bytes", paramLabel = "SIZE",
            description = "Unsynced bytes in a stream that start an fsync at once under --durability batch "
                    + "(default: 4MiB).")
    String syncBytes;

    @Option(names = "--segment-bytes", paramLabel = "SIZE",
            description = "Size at which a disk stream starts a new segment file, 4KiB to 1GiB (default: 64MiB).")
    String segmentBytes;

    @Option(names = "--max-streams", paramLabel = "N",
            description = "Most streams the broker holds; a publish that would create one more fails with "
                    + "STREAM_LIMIT. Subscribing to a missing stream creates none (default: 10000).")
    String maxStreams;

    @Option(names = "--max-open-files", paramLabel = "N",
            description = "Most segment, index and mark files kept open at once; the least recently used "
                    + "streams' files are closed beyond it, at least 8 (default: 1024).")
    String maxOpenFiles;

    @Option(names = "--file-mode", paramLabel = "MODE",
            description = "Permissions of the data files the broker creates (default: rw-------).")
    String fileMode;

    @Option(names = "--directory-mode", paramLabel = "MODE",
            description = "Permissions of the data directories the broker creates (default: rwx------).")
    String directoryMode;

    @Option(names = "--retention-messages", paramLabel = "N",
            description = "Most messages each stream keeps; the oldest are dropped first (default: 1000000).")
    String retentionMessages;

    @Option(names = "--retention-bytes", paramLabel = "SIZE",
            description = "Most payload bytes each stream keeps (default: 1GiB).")
    String retentionBytes;

    @Option(names = "--retention-age", paramLabel = "DURATION|none",
            description = "Streams drop their oldest records once older than this, e.g. 168h: whole segments on disk,"
                    + " whole batches on Redis; the memory store keeps no age limit (default: none).")
    String retentionAge;

    @Option(names = "--max-frame-bytes", paramLabel = "SIZE",
            description = "Largest frame the broker accepts (default: 8MiB).")
    String maxFrameBytes;

    @Option(names = "--max-message-bytes", paramLabel = "SIZE",
            description = "Largest message payload the broker accepts; at most --max-frame-bytes minus 512 "
                    + "(default: 1MiB).")
    String maxMessageBytes;

    @Option(names = "--max-request-timeout", paramLabel = "DURATION",
            description = "Upper bound of every request's timeout (default: 5m).")
    String maxRequestTimeout;

    @Option(names = "--handshake-timeout", paramLabel = "DURATION",
            description = "How long a new connection may take to say HELLO before it is closed (default: 10s).")
    String handshakeTimeout;

    @Option(names = "--publish-wait", paramLabel = "DURATION",
            description = "Longest a publish is held back by a gating consumer before it fails with TIMEOUT, "
                    + "appending nothing; keep it below the clients' request timeout (default: 5s).")
    String publishWait;

    @Option(names = "--output-buffer", paramLabel = "SIZE",
            description = "Unread output above which a connection is not read until it drains (default: 1MiB).")
    String outputBuffer;

    @Option(names = "--max-output-bytes", paramLabel = "SIZE",
            description = "Hard cap of unread output per connection; past it ERROR SLOW_CONSUMER and close "
                    + "(default: 32MiB).")
    String maxOutputBytes;

    @Option(names = "--slow-consumer-timeout", paramLabel = "DURATION",
            description = "How long a connection may stay above --output-buffer before ERROR SLOW_CONSUMER "
                    + "(default: 30s).")
    String slowConsumerTimeout;

    @Option(names = "--frame-read-timeout", paramLabel = "DURATION",
            description = "How long a frame may take from its first byte to its last before ERROR READ_TIMEOUT "
                    + "(default: 5s).")
    String frameReadTimeout;

    @Option(names = "--max-partial-frame-bytes", paramLabel = "SIZE",
            description = "Memory all frames received in part may reserve together; a larger frame that does not "
                    + "fit gets FRAME_TOO_LARGE (default: 128MiB).")
    String maxPartialFrameBytes;

    @Option(names = "--max-connections", paramLabel = "N",
            description = "Most client connections; one more gets ERROR CONNECTION_LIMIT (default: 4096).")
    String maxConnections;

    @Option(names = "--max-connections-per-peer", paramLabel = "N",
            description = "Most connections of one uid (Unix socket) or IP address (TCP) (default: 1024).")
    String maxConnectionsPerPeer;

    @Option(names = "--idle-timeout", paramLabel = "DURATION",
            description = "A connection with no subscription, responder, call or frame this long gets ERROR "
                    + "READ_TIMEOUT; 0 = never (default: 10m).")
    String idleTimeout;

    @Option(names = "--shutdown-grace", paramLabel = "DURATION",
            description = "How long a graceful stop waits for in-flight requests; 0 waits for none (default: 5s).")
    String shutdownGrace;

    @Option(names = "--io-threads", paramLabel = "N",
            description = "Event loop threads serving connections; 0 = twice the cores (default: 0).")
    String ioThreads;

    @Option(names = "--server-name", paramLabel = "NAME",
            description = "The name the broker gives clients when they connect (default: wirebus).")
    String serverName;

    @Option(names = "--http", paramLabel = "HOST:PORT|off",
            description = "Address of the HTTP, SSE and WebSocket gateway, the demo page at / (default: 127.0.0.1:"
                    + HttpSettings.DEFAULT_PORT + "); off = no gateway. See docs/gateway.md.")
    String http;

    @Option(names = "--http-rate-limit", paramLabel = "RATE",
            description = "Requests (and WebSocket messages) per client IP, e.g. 50/s, 6000/min; a token bucket "
                    + "as large as one period's requests; beyond it 429 (default: 2000/s).")
    String httpRateLimit;

    @Option(names = "--http-max-body", paramLabel = "SIZE",
            description = "Largest request body and WebSocket message; beyond it 413 (default: 1MiB).")
    String httpMaxBody;

    @Option(names = "--http-max-header-size", paramLabel = "SIZE",
            description = "Largest request line plus headers; beyond it 431 and close (default: 16KiB).")
    String httpMaxHeaderSize;

    @Option(names = "--http-request-timeout", paramLabel = "DURATION",
            description = "Longest an HTTP request waits for the broker; then 504 (default: 10s).")
    String httpRequestTimeout;

    @Option(names = "--http-max-in-flight", paramLabel = "N",
            description = "Most requests waiting for the broker at once, all clients together; beyond it 503 "
                    + "(default: 1024).")
    String httpMaxInFlight;

    @Option(names = "--http-max-in-flight-per-client", paramLabel = "N",
            description = "Most requests of one client IP waiting for the broker at once; beyond it 503 "
                    + "(default: 256).")
    String httpMaxInFlightPerClient;

    @Option(names = "--http-max-connections-per-client", paramLabel = "N",
            description = "Most open HTTP connections from one client IP; one more gets 503 and is closed "
                    + "(default: 1000).")
    String httpMaxConnectionsPerClient;

    @Option(names = "--http-max-connections", paramLabel = "N",
            description = "Most open HTTP connections; one more gets 503 and is closed (default: 10000).")
    String httpMaxConnections;

    @Option(names = "--http-io-threads", paramLabel = "N",
            description = "Event loop threads of the HTTP gateway, which also carry its broker connection; "
                    + "0 = half the cores, at least 1 (default: 0).")
    String httpIoThreads;

    @Option(names = "--http-idle-timeout", paramLabel = "DURATION",
            description = "A connection silent this long is closed; longer than a load balancer's own idle timeout "
                    + "(default: 620s).")
    String httpIdleTimeout;

    @Option(names = "--http-header-timeout", paramLabel = "DURATION",
            description = "A request whose headers are not complete this long after its first byte is closed "
                    + "(slow-loris) (default: 10s).")
    String httpHeaderTimeout;

    @Option(names = "--http-subscriber-buffer", paramLabel = "SIZE",
            description = "Bytes queued for a slow SSE or WebSocket client before it is cut with SLOW_CONSUMER "
                    + "and where to resume (default: 4MiB).")
    String httpSubscriberBuffer;

    @Option(names = "--http-max-pipelined", paramLabel = "N",
            description = "Pipelined requests queued behind the one served; the next is served once earlier "
                    + "answers are written (default: 8).")
    String httpMaxPipelined;

    @Option(names = "--insecure",
            description = "Allow a TCP listener on an address other than loopback without any authentication "
                    + "(no tokens, JWTs or client certificates in [security]); also WIREBUS_INSECURE=true. "
                    + "See docs/security.md.")
    boolean insecure;

    @Option(names = "--http-allowed-origins", paramLabel = "ORIGINS",
            description = "Origins (https://chat.example.com, comma-separated; * for any) whose pages may call the "
                    + "gateway besides its own; others get 403 (default: none).")
    String httpAllowedOrigins;

    @Option(names = "--http-allowed-hosts", paramLabel = "HOSTS",
            description = "Host names the gateway answers besides localhost, 127.0.0.1 and [::1] on loopback "
                    + "(DNS rebinding); on other addresses, when set, the only ones (default: none).")
    String httpAllowedHosts;

    @Option(names = "--http-demo", paramLabel = "on|off",
            description = "Serve the demo page at / and the demo producer endpoint (default: on).")
    String httpDemo;

    @Option(names = "--http-tls-cert", paramLabel = "FILE",
            description = "PEM certificate chain: the gateway speaks HTTPS and wss:// (reloaded when it changes).")
    String httpTlsCert;

    @Option(names = "--http-tls-key", paramLabel = "FILE",
            description = "PEM (PKCS#8) private key of --http-tls-cert.")
    String httpTlsKey;

    @Override
    public Integer call() {
        ServeSettings settings = settings();
        HttpSettings httpSettings = settings.toHttpSettings();
        GatewaySettings gatewaySettings;
        try {
            gatewaySettings = GatewaySettings.of(settings);
        } catch (SettingsException e) {
            throw e.onCommandLine() ? usage(e.getMessage()) : new CliFailure(e.getMessage(), WirebusCommand.USAGE);
        }
        // one registry for the broker's and the gateway's meters, scraped at GET /metrics
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry = httpSettings.listen() == null ? null
                : new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                        io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        BrokerConfig config = settings.toBrokerConfig(registry);
        PrintWriter out = spec.commandLine().getOut();
        if (configFile != null) {
            out.println("wirebus config: " + configFile.toAbsolutePath().normalize());
            out.flush();
        }
        Broker broker;
        // with --store redis://...: redisStore.readiness() is false while Redis is unreachable (for /readyz)
        dev.wirebus.store.redis.RedisStorage redisStore = null;
        try {
            dev.wirebus.store.redis.RedisStoreSettings redis = settings.redisStore();
            redisStore = redis == null ? null : dev.wirebus.store.redis.RedisStorage.open(redis, config);
            broker = redisStore == null ? Broker.start(config) : Broker.start(config, redisStore);
        } catch (IOException e) {
            throw new CliFailure(e.getMessage());
        }
        HttpGateway gateway;
        try {
            gateway = HttpGateway.start(broker, httpSettings, gatewaySettings, registry,
                    redisStore == null ? null : redisStore.readiness());
        } catch (RuntimeException e) {
            broker.close();
            throw new CliFailure(e.getMessage());
        }
        // from here on, SIGINT/SIGTERM close the broker; the hook ends the process with 0 once it is closed
        Thread hook = new Thread(() -> {
            gateway.close();
            broker.close();
            out.println("wirebus stopped");
            out.flush();
            Runtime.getRuntime().halt(0);
        }, "wirebus-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);

        if (broker.unixSocket() != null) {
            out.println("wirebus listening on unix://" + broker.unixSocket());
        }
        if (broker.tcpAddress() != null) {
            out.println("wirebus listening on " + HostPort.of(broker.tcpAddress()).uri());
        }
        out.println("wirebus storage: " + broker.storageDescription());
        out.println("wirebus retention: " + describeRetention(config, redisStore != null));
        out.println("wirebus transport: " + broker.transportName());
        if (config.security().enabled()) {
            out.println("wirebus security: " + config.security());
        }
        SecuritySignals.reloadOnHangup(broker);
        gateway.describe(out);
        out.println("ready");
        out.flush();

        boolean interrupted = false;
        try {
            broker.awaitTermination();
        } catch (InterruptedException e) {
            // asked to stop by whoever runs this command in-process; the interrupt is kept for after the close,
            // which waits for the broker's threads (an interrupted wait would leave them running)
            interrupted = true;
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shutdownInProgress) {
            // a signal: the hook is closing the broker and ends the process
            joinQuietly(hook);
            return 0;
        }
        gateway.close();
        broker.close();
        out.println("wirebus stopped");
        out.flush();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    /** The settings: defaults, then the config file, the environment, the flags. */
    private ServeSettings settings() {
        try {
            Layer flags = flags();
            Layer file = configFile == null ? new Layer() : ConfigFile.read(configFile);
            Layer env = ServeSettings.environment(environment.get());
            return ServeSettings.resolve(List.of(ServeSettings.defaults(), file, env, flags))
                    .insecure(insecure || "true".equalsIgnoreCase(environment.get().getOrDefault("WIREBUS_INSECURE", "")));
        } catch (SettingsException e) {
            if (e.onCommandLine()) {
                throw usage(e.getMessage());
            }
            throw new CliFailure(e.getMessage(), WirebusCommand.USAGE);
        }
    }

    /** The settings given as flags. */
    private Layer flags() {
        Layer layer = new Layer();
        if (unix != null) {
            if (unix.none) {
                layer.put(Setting.UDS, ServeSettings.Listener.OFF, new Origin("--no-uds", true));
            } else {
                layer.put(Setting.UDS, unix.path.toAbsolutePath().normalize(), new Origin("--uds", true));
            }
        }
        if (tcp != null) {
            if (tcp.none) {
                layer.put(Setting.TCP, ServeSettings.Listener.OFF, new Origin("--no-tcp", true));
            } else {
                layer.parse(Setting.TCP, tcp.address.toString(), new Origin("--tcp", true));
            }
        }
        flag(layer, Setting.SOCKET_MODE, socketMode);
        flag(layer, Setting.STORE, store);
        flag(layer, Setting.DATA, data);
        flag(layer, Setting.DURABILITY, durability);
        flag(layer, Setting.SYNC_INTERVAL, syncInterval);
        flag(layer, Setting.SYNC_BYTES, syncBytes);
        flag(layer, Setting.SEGMENT_BYTES, segmentBytes);
        flag(layer, Setting.MAX_STREAMS, maxStreams);
        flag(layer, Setting.MAX_OPEN_FILES, maxOpenFiles);
        flag(layer, Setting.FILE_MODE, fileMode);
        flag(layer, Setting.DIRECTORY_MODE, directoryMode);
        flag(layer, Setting.RETENTION_MESSAGES, retentionMessages);
        flag(layer, Setting.RETENTION_BYTES, retentionBytes);
        flag(layer, Setting.RETENTION_AGE, retentionAge);
        flag(layer, Setting.MAX_FRAME_BYTES, maxFrameBytes);
        flag(layer, Setting.MAX_MESSAGE_BYTES, maxMessageBytes);
        flag(layer, Setting.MAX_REQUEST_TIMEOUT, maxRequestTimeout);
        flag(layer, Setting.HANDSHAKE_TIMEOUT, handshakeTimeout);
        flag(layer, Setting.PUBLISH_WAIT, publishWait);
        flag(layer, Setting.OUTPUT_BUFFER, outputBuffer);
        flag(layer, Setting.MAX_OUTPUT_BYTES, maxOutputBytes);
        flag(layer, Setting.SLOW_CONSUMER_TIMEOUT, slowConsumerTimeout);
        flag(layer, Setting.FRAME_READ_TIMEOUT, frameReadTimeout);
        flag(layer, Setting.MAX_PARTIAL_FRAME_BYTES, maxPartialFrameBytes);
        flag(layer, Setting.MAX_CONNECTIONS, maxConnections);
        flag(layer, Setting.MAX_CONNECTIONS_PER_PEER, maxConnectionsPerPeer);
        flag(layer, Setting.IDLE_TIMEOUT, idleTimeout);
        flag(layer, Setting.SHUTDOWN_GRACE, shutdownGrace);
        flag(layer, Setting.IO_THREADS, ioThreads);
        flag(layer, Setting.SERVER_NAME, serverName);
        flag(layer, Setting.HTTP, http);
        flag(layer, Setting.HTTP_RATE_LIMIT, httpRateLimit);
        flag(layer, Setting.HTTP_MAX_BODY, httpMaxBody);
        flag(layer, Setting.HTTP_MAX_HEADER_SIZE, httpMaxHeaderSize);
        flag(layer, Setting.HTTP_REQUEST_TIMEOUT, httpRequestTimeout);
        flag(layer, Setting.HTTP_MAX_IN_FLIGHT, httpMaxInFlight);
        flag(layer, Setting.HTTP_MAX_CONNECTIONS, httpMaxConnections);
        flag(layer, Setting.HTTP_MAX_IN_FLIGHT_PER_CLIENT, httpMaxInFlightPerClient);
        flag(layer, Setting.HTTP_MAX_CONNECTIONS_PER_CLIENT, httpMaxConnectionsPerClient);
        flag(layer, Setting.HTTP_IDLE_TIMEOUT, httpIdleTimeout);
        flag(layer, Setting.HTTP_IO_THREADS, httpIoThreads);
        flag(layer, Setting.HTTP_HEADER_TIMEOUT, httpHeaderTimeout);
        flag(layer, Setting.HTTP_SUBSCRIBER_BUFFER, httpSubscriberBuffer);
        flag(layer, Setting.HTTP_MAX_PIPELINED, httpMaxPipelined);
        flag(layer, Setting.HTTP_ALLOWED_ORIGINS, httpAllowedOrigins);
        flag(layer, Setting.HTTP_ALLOWED_HOSTS, httpAllowedHosts);
        flag(layer, Setting.HTTP_DEMO, httpDemo);
        flag(layer, Setting.HTTP_TLS_CERT, httpTlsCert);
        flag(layer, Setting.HTTP_TLS_KEY, httpTlsKey);
        return layer;
    }

    private static void flag(Layer layer, Setting setting, String value) {
        if (value != null) {
            layer.parse(setting, value, new Origin(setting.flag(), true));
        }
    }

    /** {@code 1000000 messages, 1GiB per stream}, with the age limit of disk and Redis streams if there is one. */
    static String describeRetention(BrokerConfig config, boolean redis) {
        String limits = config.retentionMessages() + " messages, " + Sizes.format(config.retentionBytes());
        Duration age = config.retentionAge();
        if (age == null) {
            return limits + " per stream";
        }
        if (config.storage() == BrokerConfig.Storage.DISK || redis) {
            return limits + ", " + DurationConverter.format(age) + " per stream";
        }
        return limits + " per stream (the age limit " + DurationConverter.format(age) + " applies to disk and Redis only)";
    }

    private ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
