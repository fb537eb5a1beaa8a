package dev.wirebus.bench;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Options every benchmark takes: where the broker is, which transports, how long, how often. */
final class BenchOptions {

    @Option(names = "--transport", paramLabel = "uds|tcp|both", defaultValue = "both",
            description = "Transport(s) to measure, one after the other (default: ${DEFAULT-VALUE}).")
    String transport;

    @Option(names = "--broker", paramLabel = "embedded|ADDRESS[,ADDRESS]", defaultValue = "embedded",
            description = "'embedded' starts a fresh broker per benchmark and transport (temp-dir socket, TCP port 0);"
                    + " otherwise the address(es) of a running broker: unix:///path and/or tcp://host:port,"
                    + " comma-separated (default: ${DEFAULT-VALUE}).")
    String broker;

    @Option(names = "--broker-process",
            description = "With --broker embedded: run the broker as a separate JVM (dev.wirebus.bench.BrokerMain)"
                    + " so client and broker share no heap, GC or JIT.")
    boolean brokerProcess;

    @Option(names = "--broker-jvm-opts", paramLabel = "OPTS",
            description = "JVM options of the --broker-process JVM (default: this JVM's -X/-XX/-D options).")
    String brokerJvmOpts;

    @Option(names = "--io-threads", defaultValue = "0",
            description = "Broker event-loop threads for the embedded/process broker (0 = Netty default, 2 x cores).")
    int ioThreads;

    @Option(names = "--retention-messages", defaultValue = "1000000",
            description = "Per-stream retention of the embedded/process broker (default: ${DEFAULT-VALUE}, the broker's default).")
    long retentionMessages;

    @Option(names = "--store", paramLabel = "memory|disk", defaultValue = "memory",
            description = "Where the embedded/process broker keeps streams: memory, or disk (acks wait for the fsync"
                    + " that covers them, per --durability) (default: ${DEFAULT-VALUE}).")
    String store;

    @Option(names = "--durability", paramLabel = "always|batch|never", defaultValue = "batch",
            description = "With --store disk: always (fsync at once, concurrent publishes share it), batch (fsync at"
                    + " most every --sync-interval), never (page cache only) (default: ${DEFAULT-VALUE}).")
    String durability;

    @Option(names = "--sync-interval", defaultValue = "5ms", converter = DurationConverter.class,
            description = "With --store disk and durability batch: longest a publish waits for its fsync (default: ${DEFAULT-VALUE}).")
    Duration syncInterval;

    @Option(names = "--data", paramLabel = "DIR",
            description = "With --store disk: each broker gets a fresh directory inside DIR, deleted afterwards"
                    + " (default: a fresh directory in /tmp, the filesystem shared/floor measures fdatasync on).")
    Path data;

    @Option(names = "--fsync-count", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "With a disk store: count the broker's fsyncs (FileChannel.force calls, seen through JFR's"
                    + " jdk.FileForce event in the broker's JVM) and report fsync/s per run (default: on;"
                    + " --no-fsync-count leaves JFR off).")
    boolean fsyncCount;

    @Option(names = "--duration", defaultValue = "10s", converter = DurationConverter.class,
            description = "Length of each measured run (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--warmup", defaultValue = "3s", converter = DurationConverter.class,
            description = "Unmeasured warm-up before the runs, per benchmark and transport (default: ${DEFAULT-VALUE}).")
    Duration warmup;

    @Option(names = "--runs", defaultValue = "3", description = "Measured runs; each is printed, then the median (default: ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--size", defaultValue = "100", description = "Payload bytes (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--timeout", defaultValue = "10s", converter = DurationConverter.class,
            description = "Deadline of every single wait: an ack, a reply, a flush, broker start-up (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--wait", defaultValue = "park", paramLabel = "park|spin",
            description = "How a sequential caller waits for its answer: 'park' (CompletableFuture.get, what an"
                    + " application does) or 'spin' (busy-poll; costs a core, shows the wake-up share) (default: ${DEFAULT-VALUE}).")
    String waitMode;

    @Option(names = "--floor-file", paramLabel = "FILE", defaultValue = "${env:WIREBUS_FLOOR_FILE}",
            description = "Output of shared/floor/run.sh from this sitting; the summary then shows ratios to it"
                    + " (default: $WIREBUS_FLOOR_FILE, set by bench/run.sh).")
    String floorFile;

    List<Transport> transports() {
        List<Transport> out = new ArrayList<>();
        switch (transport.toLowerCase(Locale.ROOT)) {
            case "uds", "unix" -> out.add(Transport.UDS);
            case "tcp" -> out.add(Transport.TCP);
            case "both", "all" -> {
                out.add(Transport.UDS);
                out.add(Transport.TCP);
            }
            default -> throw new IllegalArgumentException("--transport must be uds, tcp or both, was " + transport);
        }
        return out;
    }

    /** The store of --store, --durability and --sync-interval. */
    BrokerStore store() {
        return BrokerStore.parseStorage(store) == dev.wirebus.server.BrokerConfig.Storage.MEMORY ? BrokerStore.memory()
                : BrokerStore.disk(BrokerStore.parseDurability(durability), syncInterval);
    }

    boolean spin() {
        return switch (waitMode.toLowerCase(Locale.ROOT)) {
            case "spin" -> true;
            case "park" -> false;
            default -> throw new IllegalArgumentException("--wait must be park or spin, was " + waitMode);
        };
    }

    void validate() {
        transports();
        spin();
        store();
        BrokerStore.parseDurability(durability);
        if (syncInterval.isNegative()) {
            throw new IllegalArgumentException("--sync-interval must not be negative, was " + syncInterval);
        }
        if (runs < 1) {
            throw new IllegalArgumentException("--runs must be at least 1, was " + runs);
        }
        if (size < 0) {
            throw new IllegalArgumentException("--size must be non-negative, was " + size);
        }
        if (duration.isZero() || duration.isNegative()) {
            throw new IllegalArgumentException("--duration must be positive, was " + duration);
        }
        if (warmup.isNegative()) {
            throw new IllegalArgumentException("--warmup must not be negative, was " + warmup);
        }
        if (brokerProcess && !"embedded".equals(broker)) {
            throw new IllegalArgumentException("--broker-process starts its own broker; it cannot go with --broker " + broker);
        }
    }

    /** Wall time one benchmark variant takes on one transport, set-up excluded. */
    Duration perTransportBudget() {
        return warmup.plus(duration.multipliedBy(runs));
    }

    /** "10s", "5ms", "500us", "250ns": the shortest exact form. */
    static String format(Duration d) {
        long n = d.toNanos();
        if (n % 1_000_000_000L == 0) {
            return n / 1_000_000_000L + "s";
        }
        if (n % 1_000_000L == 0) {
            return n / 1_000_000L + "ms";
        }
        return n % 1_000L == 0 ? n / 1_000L + "us" : n + "ns";
    }

    /** Parses {@code 10s}, {@code 500ms}, {@code 250us}, {@code 2m}, {@code 1.5s}, or plain seconds. */
    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            return parse(value);
        }

        static Duration parse(String value) {
            String v = value.trim().toLowerCase(Locale.ROOT);
            try {
                if (v.endsWith("ns")) {
                    return Duration.ofNanos((long) Double.parseDouble(v.substring(0, v.length() - 2)));
                }
                if (v.endsWith("us")) {
                    return Duration.ofNanos((long) (Double.parseDouble(v.substring(0, v.length() - 2)) * 1e3));
                }
                if (v.endsWith("ms")) {
                    return Duration.ofNanos((long) (Double.parseDouble(v.substring(0, v.length() - 2)) * 1e6));
                }
                if (v.endsWith("s")) {
                    return Duration.ofNanos((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 1e9));
                }
                if (v.endsWith("m")) {
                    return Duration.ofNanos((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 60e9));
                }
                return Duration.ofNanos((long) (Double.parseDouble(v) * 1e9));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("'" + value + "' is not a duration like 10s, 500ms, 250us or 2m");
            }
        }
    }
}
