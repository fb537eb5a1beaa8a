package dev.wirebus.server;

import dev.wirebus.protocol.FrameCodec;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable settings of a {@link Broker}, built by {@link #builder()}. Every setter validates its
 * value at once and names the setting when it refuses one.
 *
 * <pre>{@code
 * BrokerConfig config = BrokerConfig.builder()
 *     .unixSocket(Path.of("/run/wirebus.sock"))
 *     .tcp(new InetSocketAddress("127.0.0.1", 7440))
 *     .retentionMessages(1_000_000)
 *     .build();
 * }</pre>
 */
public final class BrokerConfig {
    /** Where streams live. */
    public enum Storage {
        /** In memory: fast, gone when the broker stops. */
        MEMORY,
        /** Segment files under {@link #dataDirectory()}: survive restarts and crashes. */
        DISK
    }

    /** When a publish to a disk stream is acknowledged. */
    public enum Durability {
        /** After an fsync that covers it; the fsync starts as soon as anyone waits (concurrent publishes share it). */
        ALWAYS,
        /** After an fsync that covers it; fsyncs run at most every {@link #syncInterval()} (or {@link #syncBytes()}). */
        BATCH,
        /** Once written to the page cache: a broker crash loses nothing, a machine crash may lose the last writes. */
        NEVER
    }

    private final Path unixSocket;
    private final InetSocketAddress tcp;
    private final Set<PosixFilePermission> socketPermissions;
    private final int maxFrameLength;
    private final int maxMessageBytes;
    private final long retentionMessages;
    private final long retentionBytes;
    private final Duration handshakeTimeout;
    private final Duration shutdownGrace;
    private final Duration maxRequestTimeout;
    private final int ioThreads;
    private final String serverName;
    private final Storage storage;
    private final Path dataDirectory;
    private final Durability durability;
    private final Duration syncInterval;
    private final long syncBytes;
    private final long segmentBytes;
    private final Duration retentionAge;
    private final Duration publishWait;
    private final int maxStreams;
    private final int maxOpenFiles;
    private final Set<PosixFilePermission> fileMode;
    private final Set<PosixFilePermission> directoryMode;
    private final java.util.Map<String, StreamSettings> streams;
    private final MeterRegistry meterRegistry;
    private final int outputHighWater;
    private final long maxOutputBytes;
    private final Duration slowConsumerTimeout;
    private final Duration frameReadTimeout;
    private final long maxPartialFrameBytes;
    private final int maxConnections;
    private final int maxConnectionsPerPeer;
    private final Duration idleTimeout;
    // access control (issue 13)
    private final dev.wirebus.security.SecurityConfig security;
    private final java.util.function.Supplier<dev.wirebus.security.SecurityConfig> securityReloader;

    private BrokerConfig(Builder b) {
        this.security = b.security;
        this.securityReloader = b.securityReloader;
        this.outputHighWater = b.outputHighWater;
        this.maxOutputBytes = b.maxOutputBytes;
        this.slowConsumerTimeout = b.slowConsumerTimeout;
        this.frameReadTimeout = b.frameReadTimeout;
        this.maxPartialFrameBytes = b.maxPartialFrameBytes;
        this.maxConnections = b.maxConnections;
        this.maxConnectionsPerPeer = b.maxConnectionsPerPeer;
        this.idleTimeout = b.idleTimeout;
        this.meterRegistry = b.meterRegistry != null ? b.meterRegistry : new CompositeMeterRegistry();
        this.streams = java.util.Map.copyOf(b.streams);
        this.publishWait = b.publishWait;
        this.maxStreams = b.maxStreams;
        this.maxOpenFiles = b.maxOpenFiles;
        this.fileMode = Set.copyOf(b.fileMode);
        this.directoryMode = Set.copyOf(b.directoryMode);
        this.storage = b.storage;
        this.dataDirectory = b.dataDirectory;
        this.durability = b.durability;
        this.syncInterval = b.syncInterval;
        this.syncBytes = b.syncBytes;
        this.segmentBytes = b.segmentBytes;
        this.retentionAge = b.retentionAge;
        this.unixSocket = b.unixSocket;
        this.tcp = b.tcp;
        this.socketPermissions = b.socketPermissions;
        this.maxFrameLength = b.maxFrameLength;
        this.maxMessageBytes = b.maxMessageBytes;
        this.retentionMessages = b.retentionMessages;
        this.retentionBytes = b.retentionBytes;
        this.handshakeTimeout = b.handshakeTimeout;
        this.shutdownGrace = b.shutdownGrace;
        this.maxRequestTimeout = b.maxRequestTimeout;
        this.ioThreads = b.ioThreads;
        this.serverName = b.serverName;
    }

    /** Bytes of a FETCH answer beyond its first record (4 MiB of records, and room for headers). */
    private static final long LARGEST_FETCH_ANSWER = (4L << 20) + 4096;

    /** Default of {@link #maxOutputBytes()}. */
    public static final long DEFAULT_MAX_OUTPUT_BYTES = 32L * 1024 * 1024;

    /** A builder with the defaults: no listener (set at least one), 8 MiB frames, 1M messages / 1 GiB per stream. */
    public static Builder builder() {
        return new Builder();
    }

    /** Where streams live (default {@link Storage#MEMORY}; {@code wirebus serve} uses disk). */
    public Storage storage() {
        return storage;
    }

    /** Directory of the disk store. */
    public Path dataDirectory() {
        return dataDirectory;
    }

    /** When disk publishes are acknowledged (default {@link Durability#ALWAYS}). */
    public Durability durability() {
        return durability;
    }

    /** Longest a publish waits for the fsync that covers it under {@link Durability#BATCH}. */
    public Duration syncInterval() {
        return syncInterval;
    }

    /** Unsynced bytes in a stream that start an fsync at once under {@link Durability#BATCH}. */
    public long syncBytes() {
        return syncBytes;
    }

    /** Size at which disk segments are rolled. */
    public long segmentBytes() {
        return segmentBytes;
    }

    /**
     * Longest a publish is held back by a gating consumer before it fails with TIMEOUT (and is not
     * appended). Keep it below the clients' request timeout.
     */
    public Duration publishWait() {
        return publishWait;
    }

    /**
     * Most streams the broker holds (default 10,000): a publish that would create one more fails
     * with STREAM_LIMIT. Streams already in the data directory at start are all opened, even
     * beyond it. Subscribing to or fetching a missing stream never creates one.
     */
    public int maxStreams() {
        return maxStreams;
    }

    /**
     * Most segment, index and mark files the disk store keeps open at once (default 1024); the
     * least recently used stream's files are closed beyond it and reopened when next used, so the
     * number of streams is not bounded by file descriptors.
     */
    public int maxOpenFiles() {
        return maxOpenFiles;
    }

    /** Permissions of the files the disk store creates (default {@code rw-------}). */
    public Set<PosixFilePermission> fileMode() {
        return fileMode;
    }

    /** Permissions of the directories the disk store creates (default {@code rwx------}). */
    public Set<PosixFilePermission> directoryMode() {
        return directoryMode;
    }

    /** Per-stream overrides by stream name. */
    public java.util.Map<String, StreamSettings> streams() {
        return streams;
    }

    /** Retention in messages of a stream (its override, else the broker's). */
    public long retentionMessages(String stream) {
        StreamSettings s = streams.get(stream);
        return s != null && s.retentionMessages() != null ? s.retentionMessages() : retentionMessages;
    }

    /** Retention in bytes of a stream. */
    public long retentionBytes(String stream) {
        StreamSettings s = streams.get(stream);
        return s != null && s.retentionBytes() != null ? s.retentionBytes() : retentionBytes;
    }

    /** Retention age of a stream (null: none). */
    public Duration retentionAge(String stream) {
        StreamSettings s = streams.get(stream);
        return s != null && s.retentionAge() != null ? s.retentionAge() : retentionAge;
    }

    /** Durability of a stream. */
    public Durability durability(String stream) {
        StreamSettings s = streams.get(stream);
        return s != null && s.durability() != null ? s.durability() : durability;
    }

    /** Largest message a stream accepts. */
    public int maxMessageBytes(String stream) {
        StreamSettings s = streams.get(stream);
        return s != null && s.maxMessageBytes() != null ? Math.min(s.maxMessageBytes(), maxFrameLength - 512)
                : maxMessageBytes;
    }

    /** Disk streams drop whole segments, Redis streams whole batches, older than this (null: no age limit). */
    public Duration retentionAge() {
        return retentionAge;
    }

    /** Unix domain socket path to listen on, or null for none. */
    public Path unixSocket() {
        return unixSocket;
    }

    /** TCP address to listen on (port 0 picks a free port), or null for none. */
    public InetSocketAddress tcp() {
        return tcp;
    }

    /** Permissions given to the socket file after bind (default {@code rw-------}). */
    public Set<PosixFilePermission> socketPermissions() {
        return socketPermissions;
    }

    /** Largest frame accepted, in bytes after the length prefix. */
    public int maxFrameLength() {
        return maxFrameLength;
    }

    /** Largest single message payload accepted. */
    public int maxMessageBytes() {
        return maxMessageBytes;
    }

    /** Messages each stream retains at most; older ones are dropped, oldest first. */
    public long retentionMessages() {
        return retentionMessages;
    }

    /** Payload bytes (with 4-byte length prefixes) each stream retains at most. */
    public long retentionBytes() {
        return retentionBytes;
    }

    /** How long a new connection may take to send HELLO before it is closed. */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** How long a graceful shutdown waits for in-flight requests after sending GOAWAY. */
    public Duration shutdownGrace() {
        return shutdownGrace;
    }

    /** Upper bound applied to every request's timeout. */
    public Duration maxRequestTimeout() {
        return maxRequestTimeout;
    }

    /** Event loop threads serving connections (0 = Netty's default, twice the cores). */
    public int ioThreads() {
        return ioThreads;
    }

    /** The name the broker gives in WELCOME. */
    public String serverName() {
        return serverName;
    }

    /**
     * The access configuration: principals, credentials, permissions, TLS (docs/security.md).
     * Default {@link dev.wirebus.security.SecurityConfig#DISABLED}: everyone may do everything.
     */
    public dev.wirebus.security.SecurityConfig security() {
        return security;
    }

    /**
     * Reads the access configuration again, on SIGHUP or when one of its files changes; null when
     * it was not read from a file.
     */
    public java.util.function.Supplier<dev.wirebus.security.SecurityConfig> securityReloader() {
        return securityReloader;
    }

    /**
     * Where the broker registers its meters ({@code wirebus.*}: connections, publishes, deliveries,
     * errors by code, requests by outcome, latencies, per-stream and per-consumer gauges). The
     * default is an empty {@link CompositeMeterRegistry}, which records nothing and costs next to
     * nothing. The broker removes its meters when it closes; give each broker a registry of its own
     * (or one no other broker shares).
     */
    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /**
     * Unsent bytes queued for one connection above which the broker stops reading that connection
     * (its Netty write-buffer high-water mark; reading resumes below a quarter of it). Default 1 MiB.
     */
    public int outputHighWater() {
        return outputHighWater;
    }

    /**
     * Hard cap of unsent bytes queued for one connection: an answer that would go past it closes
     * the connection with SLOW_CONSUMER at once. Default 32 MiB (at least the high-water mark
     * plus one largest frame and one FETCH answer of 4 MiB).
     */
    public long maxOutputBytes() {
        return maxOutputBytes;
    }

    /**
     * How long a connection may stay above its output high-water mark (reading nothing of what it
     * was sent) before it is closed with SLOW_CONSUMER. Default 30 s.
     */
    public Duration slowConsumerTimeout() {
        return slowConsumerTimeout;
    }

    /** How long a frame may take from its first byte to its last before the connection is closed with READ_TIMEOUT. Default 5 s. */
    public Duration frameReadTimeout() {
        return frameReadTimeout;
    }

    /**
     * Broker-wide budget of memory for frames received in part: each frame in progress reserves
     * its announced length. A frame above 64 KiB that does not fit is refused and its connection
     * closed with FRAME_TOO_LARGE; smaller frames are always taken. Default 128 MiB.
     */
    public long maxPartialFrameBytes() {
        return maxPartialFrameBytes;
    }

    /** Most client connections open at once; more are refused at accept with CONNECTION_LIMIT. Default 4096. */
    public int maxConnections() {
        return maxConnections;
    }

    /**
     * Most connections from one peer (one uid on the Unix socket, one IP address on TCP); more
     * are refused with CONNECTION_LIMIT. Default 1024.
     */
    public int maxConnectionsPerPeer() {
        return maxConnectionsPerPeer;
    }

    /**
     * A connection with no subscription, no responder, nothing in flight and no frame received for
     * this long is closed with READ_TIMEOUT ("idle"); zero turns it off. Default 10 min.
     */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** Validating builder of {@link BrokerConfig}. */
    public static final class Builder {
        private Path unixSocket;
        private InetSocketAddress tcp;
        private Set<PosixFilePermission> socketPermissions = PosixFilePermissions.fromString("rw-------");
        private int maxFrameLength = FrameCodec.DEFAULT_MAX_FRAME_LENGTH;
        private int maxMessageBytes = 1024 * 1024;
        private long retentionMessages = 1_000_000;
        private long retentionBytes = 1024L * 1024 * 1024;
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private Duration shutdownGrace = Duration.ofSeconds(5);
        private Duration maxRequestTimeout = Duration.ofMinutes(5);
        private int ioThreads = 0;
        private String serverName = "wirebus";
        private Storage storage = Storage.MEMORY;
        private Path dataDirectory = Path.of("data").toAbsolutePath();
        private Durability durability = Durability.ALWAYS;
        private Duration syncInterval = Duration.ofMillis(5);
        private long syncBytes = 4L * 1024 * 1024;
        private long segmentBytes = 64L * 1024 * 1024;
        private Duration retentionAge;
        private Duration publishWait = Duration.ofSeconds(5);
        private int maxStreams = 10_000;
        private int maxOpenFiles = 1024;
        private Set<PosixFilePermission> fileMode = PosixFilePermissions.fromString("rw-------");
        private Set<PosixFilePermission> directoryMode = PosixFilePermissions.fromString("rwx------");
        private final java.util.Map<String, StreamSettings> streams = new java.util.LinkedHashMap<>();
        private MeterRegistry meterRegistry;
        private int outputHighWater = 1024 * 1024;
        private long maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES;
        private boolean maxOutputBytesSet;
        private Duration slowConsumerTimeout = Duration.ofSeconds(30);
        private Duration frameReadTimeout = Duration.ofSeconds(5);
        private long maxPartialFrameBytes = 128L * 1024 * 1024;
        private int maxConnections = 4096;
        private int maxConnectionsPerPeer = 1024;
        private Duration idleTimeout = Duration.ofMinutes(10);
        private dev.wirebus.security.SecurityConfig security = dev.wirebus.security.SecurityConfig.DISABLED;
        private java.util.function.Supplier<dev.wirebus.security.SecurityConfig> securityReloader;

        private Builder() {
        }

        /** See {@link BrokerConfig#security()}. */
        public Builder security(dev.wirebus.security.SecurityConfig security) {
            this.security = Objects.requireNonNull(security, "security");
            return this;
        }

        /** See {@link BrokerConfig#securityReloader()}. */
        public Builder securityReloader(java.util.function.Supplier<dev.wirebus.security.SecurityConfig> reloader) {
            this.securityReloader = reloader;
            return this;
        }

        /** See {@link BrokerConfig#outputHighWater()}. */
        public Builder outputHighWater(int bytes) {
            require(bytes >= 4096, "outputHighWater", bytes, "at least 4096");
            this.outputHighWater = bytes;
            return this;
        }

        /** See {@link BrokerConfig#maxOutputBytes()}. */
        public Builder maxOutputBytes(long bytes) {
            require(bytes >= 8192, "maxOutputBytes", bytes, "at least 8192");
            this.maxOutputBytes = bytes;
            this.maxOutputBytesSet = true;
            return this;
        }

        /** See {@link BrokerConfig#slowConsumerTimeout()}. */
        public Builder slowConsumerTimeout(Duration timeout) {
            require(positive(timeout), "slowConsumerTimeout", timeout, "positive");
            this.slowConsumerTimeout = timeout;
            return this;
        }

        /** See {@link BrokerConfig#frameReadTimeout()}. */
        public Builder frameReadTimeout(Duration timeout) {
            require(positive(timeout), "frameReadTimeout", timeout, "positive");
            this.frameReadTimeout = timeout;
            return this;
        }

        /** See {@link BrokerConfig#maxPartialFrameBytes()}. */
        public Builder maxPartialFrameBytes(long bytes) {
            require(bytes >= 1024 * 1024, "maxPartialFrameBytes", bytes, "at least 1 MiB");
            this.maxPartialFrameBytes = bytes;
            return this;
        }

        /** See {@link BrokerConfig#maxConnections()}. */
        public Builder maxConnections(int connections) {
            require(connections >= 1, "maxConnections", connections, "at least 1");
            this.maxConnections = connections;
            return this;
        }

        /** See {@link BrokerConfig#maxConnectionsPerPeer()}. */
        public Builder maxConnectionsPerPeer(int connections) {
            require(connections >= 1, "maxConnectionsPerPeer", connections, "at least 1");
            this.maxConnectionsPerPeer = connections;
            return this;
        }

        /** See {@link BrokerConfig#idleTimeout()}; zero: no idle timeout. */
        public Builder idleTimeout(Duration timeout) {
            require(timeout != null && !timeout.isNegative(), "idleTimeout", timeout, "zero (off) or positive");
            this.idleTimeout = timeout;
            return this;
        }

        /**
         * Registers the broker's meters in this registry (for example a {@code PrometheusMeterRegistry}
         * that an HTTP endpoint scrapes); see {@link BrokerConfig#meterRegistry()}.
         */
        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
            return this;
        }

        /** Overrides settings for one stream. */
        public Builder stream(String name, StreamSettings settings) {
            this.streams.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(settings, "settings"));
            return this;
        }

        /** See {@link BrokerConfig#publishWait()}. */
        public Builder publishWait(Duration wait) {
            require(positive(wait), "publishWait", wait, "positive");
            this.publishWait = wait;
            return this;
        }

        /** Where streams live. */
        public Builder storage(Storage storage) {
            this.storage = Objects.requireNonNull(storage, "storage");
            return this;
        }

        /** Directory of the disk store (created if missing; one broker at a time). */
        public Builder dataDirectory(Path directory) {
            this.dataDirectory = Objects.requireNonNull(directory, "dataDirectory").toAbsolutePath();
            return this;
        }

        public Builder durability(Durability durability) {
            this.durability = Objects.requireNonNull(durability, "durability");
            return this;
        }

        public Builder syncInterval(Duration interval) {
            require(interval != null && !interval.isNegative(), "syncInterval", interval, "zero or positive");
            this.syncInterval = interval;
            return this;
        }

        public Builder syncBytes(long bytes) {
            require(bytes >= 1, "syncBytes", bytes, "at least 1");
            this.syncBytes = bytes;
            return this;
        }

        public Builder segmentBytes(long bytes) {
            require(bytes >= 4096 && bytes <= (1L << 30), "segmentBytes", bytes, "between 4096 and 1 GiB");
            this.segmentBytes = bytes;
            return this;
        }

        /** Age after which disk streams drop whole segments and Redis streams whole batches (null: none). */
        public Builder retentionAge(Duration age) {
            require(age == null || positive(age), "retentionAge", age, "positive");
            this.retentionAge = age;
            return this;
        }

        /** Listen on this Unix domain socket path (null: no Unix socket). */
        public Builder unixSocket(Path path) {
            this.unixSocket = path == null ? null : path.toAbsolutePath();
            return this;
        }

        /** Listen on this TCP address (null: no TCP). */
        public Builder tcp(InetSocketAddress address) {
            this.tcp = address;
            return this;
        }

        /** Socket file permissions in {@code rwxr-x---} form. */
        public Builder socketPermissions(String permissions) {
            try {
                this.socketPermissions = PosixFilePermissions.fromString(permissions);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("socketPermissions '" + permissions
                        + "' is not of the form rw-rw----", e);
            }
            return this;
        }

        /** See {@link BrokerConfig#maxStreams()}; at least 1. */
        public Builder maxStreams(int streams) {
            require(streams >= 1, "maxStreams", streams, "at least 1");
            this.maxStreams = streams;
            return this;
        }

        /** See {@link BrokerConfig#maxOpenFiles()}; at least 8. */
        public Builder maxOpenFiles(int files) {
            require(files >= 8, "maxOpenFiles", files, "at least 8");
            this.maxOpenFiles = files;
            return this;
        }

        /** Permissions of created data files in {@code rw-------} form; must leave the owner read and write. */
        public Builder fileMode(String permissions) {
            this.fileMode = mode("fileMode", permissions, PosixFilePermission.OWNER_READ,
                    PosixFilePermission.OWNER_WRITE);
            return this;
        }

        /** Permissions of created data directories in {@code rwx------} form; must leave the owner rwx. */
        public Builder directoryMode(String permissions) {
            this.directoryMode = mode("directoryMode", permissions, PosixFilePermission.OWNER_READ,
                    PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE);
            return this;
        }

        private static Set<PosixFilePermission> mode(String name, String text, PosixFilePermission... needed) {
            Set<PosixFilePermission> p;
            try {
                p = PosixFilePermissions.fromString(text);
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException(name + " '" + text + "' is not of the form rw-------", e);
            }
            for (PosixFilePermission n : needed) {
                require(p.contains(n), name, text, "a mode that keeps the owner's " + (needed.length == 3 ? "rwx" : "rw"));
            }
            return p;
        }

        public Builder maxFrameLength(int bytes) {
            require(bytes >= 1024, "maxFrameLength", bytes, "at least 1024");
            this.maxFrameLength = bytes;
            return this;
        }

        public Builder maxMessageBytes(int bytes) {
            require(bytes >= 0, "maxMessageBytes", bytes, "non-negative");
            this.maxMessageBytes = bytes;
            return this;
        }

        public Builder retentionMessages(long messages) {
            require(messages >= 1, "retentionMessages", messages, "at least 1");
            this.retentionMessages = messages;
            return this;
        }

        public Builder retentionBytes(long bytes) {
            require(bytes >= 1, "retentionBytes", bytes, "at least 1");
            this.retentionBytes = bytes;
            return this;
        }

        public Builder handshakeTimeout(Duration timeout) {
            require(positive(timeout), "handshakeTimeout", timeout, "positive");
            this.handshakeTimeout = timeout;
            return this;
        }

        public Builder shutdownGrace(Duration grace) {
            require(grace != null && !grace.isNegative(), "shutdownGrace", grace, "zero or positive");
            this.shutdownGrace = grace;
            return this;
        }

        public Builder maxRequestTimeout(Duration timeout) {
            require(positive(timeout), "maxRequestTimeout", timeout, "positive");
            this.maxRequestTimeout = timeout;
            return this;
        }


        public Builder ioThreads(int threads) {
            require(threads >= 0, "ioThreads", threads, "zero (default) or positive");
            this.ioThreads = threads;
            return this;
        }

        public Builder serverName(String name) {
            this.serverName = Objects.requireNonNull(name, "serverName");
            return this;
        }

        /** The configuration; fails if neither a Unix socket nor TCP is set. */
        public BrokerConfig build() {
            if (unixSocket == null && tcp == null) {
                throw new IllegalStateException("a broker needs a Unix socket path, a TCP address, or both");
            }
            if (maxMessageBytes > maxFrameLength - 512) {
                maxMessageBytes = maxFrameLength - 512;
            }
            // one largest frame and one largest FETCH answer queued above the high-water mark must fit,
            // or a slow but honest client is cut
            long leastOutput = (long) outputHighWater + maxFrameLength + LARGEST_FETCH_ANSWER;
            if (maxOutputBytes < leastOutput) {
                require(!maxOutputBytesSet, "maxOutputBytes", maxOutputBytes, "at least outputHighWater + maxFrameLength"
                        + " + 4 MiB (one FETCH answer), " + leastOutput);
                maxOutputBytes = leastOutput;
            }
            return new BrokerConfig(this);
        }

        private static boolean positive(Duration d) {
            return d != null && !d.isNegative() && !d.isZero();
        }

        private static void require(boolean ok, String name, Object value, String rule) {
            if (!ok) {
                throw new IllegalArgumentException(name + " must be " + rule + ", was " + value);
            }
        }
    }
}
