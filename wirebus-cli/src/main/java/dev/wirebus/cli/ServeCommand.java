package dev.wirebus.cli;

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
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;

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
            "Prints on stdout where it listens, where streams are stored, the I/O transport (epoll or nio), "
                    + "then 'ready'. Streams are kept on disk under --data by default: a restart or a crash loses "
                    + "no acknowledged message.",
        })
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

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

    @Option(names = "--socket-mode", paramLabel = "MODE", defaultValue = "rw-------",
            description = "Permissions of the socket file, e.g. rw-rw---- to let the group connect "
                    + "(default: ${DEFAULT-VALUE}).")
    String socketMode;

    @Option(names = "--store", paramLabel = "disk|memory", defaultValue = "disk",
            description = "Where streams live: segment files under --data, or memory (gone at stop) "
                    + "(default: ${DEFAULT-VALUE}).")
    String store;

    @Option(names = "--data", paramLabel = "DIR", defaultValue = "data",
            description = "Data directory of the disk store, created if missing; one broker at a time "
                    + "(default: ./${DEFAULT-VALUE}).")
    Path data;

    @Option(names = "--durability", paramLabel = "always|batch|never", defaultValue = "batch",
            description = "When a disk publish is acknowledged: always = after an fsync that starts at once "
                    + "(concurrent publishes share it); batch = after the fsync that covers it, fsyncs at most every "
                    + "--sync-interval; never = once in the page cache (a machine crash may lose the last writes) "
                    + "(default: ${DEFAULT-VALUE}).")
    String durability;

    @Option(names = "--sync-interval", paramLabel = "DURATION", defaultValue = "5ms",
            converter = DurationConverter.class,
            description = "Longest a publish waits for its fsync under --durability batch (default: ${DEFAULT-VALUE}).")
    java.time.Duration syncInterval;

    @Option(names = "--retention-messages", paramLabel = "N",
            description = "Most messages each stream keeps; the oldest are dropped first (default: 1000000).")
    Long retentionMessages;

    @Option(names = "--retention-bytes", paramLabel = "N",
            description = "Most payload bytes each stream keeps (default: 1073741824, 1 GiB).")
    Long retentionBytes;

    @Override
    public Integer call() {
        BrokerConfig config = config();
        PrintWriter out = spec.commandLine().getOut();
        Broker broker;
        try {
            broker = Broker.start(config);
        } catch (IOException e) {
            throw new CliFailure(e.getMessage());
        }
        // from here on, SIGINT/SIGTERM close the broker; the hook ends the process with 0 once it is closed
        Thread hook = new Thread(() -> {
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
        out.println("wirebus transport: " + broker.transportName());
        out.println("ready");
        out.flush();

        try {
            broker.awaitTermination();
        } catch (InterruptedException e) {
            // asked to stop by whoever runs this command in-process
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shutdownInProgress) {
            // a signal: the hook is closing the broker and ends the process
            joinQuietly(hook);
            return 0;
        }
        broker.close();
        out.println("wirebus stopped");
        out.flush();
        return 0;
    }

    private BrokerConfig config() {
        Path socket = null;
        if (unix == null || !unix.none) {
            socket = (unix != null && unix.path != null ? unix.path : Defaults.unixSocket()).toAbsolutePath().normalize();
        }
        HostPort tcpAddress = null;
        if (tcp == null || !tcp.none) {
            tcpAddress = tcp != null && tcp.address != null ? tcp.address
                    : new HostPort("127.0.0.1", Defaults.TCP_PORT);
        }
        if (socket == null && tcpAddress == null) {
            throw usage("--no-uds and --no-tcp together leave nothing to listen on");
        }
        BrokerConfig.Builder b = BrokerConfig.builder().unixSocket(socket);
        if (tcpAddress != null) {
            InetSocketAddress address = tcpAddress.toSocketAddress();
            if (address.isUnresolved()) {
                throw usage("--tcp " + tcpAddress + ": cannot resolve host '" + tcpAddress.host() + "'");
            }
            b.tcp(address);
        }
        try {
            b.socketPermissions(socketMode);
        } catch (IllegalArgumentException e) {
            throw usage("--socket-mode '" + socketMode + "' is not of the form rw-rw----");
        }
        if (retentionMessages != null) {
            if (retentionMessages < 1) {
                throw usage("--retention-messages must be at least 1, was " + retentionMessages);
            }
            b.retentionMessages(retentionMessages);
        }
        if (retentionBytes != null) {
            if (retentionBytes < 1) {
                throw usage("--retention-bytes must be at least 1, was " + retentionBytes);
            }
            b.retentionBytes(retentionBytes);
        }
        switch (store.toLowerCase(java.util.Locale.ROOT)) {
            case "disk" -> b.storage(BrokerConfig.Storage.DISK).dataDirectory(data.toAbsolutePath().normalize());
            case "memory" -> b.storage(BrokerConfig.Storage.MEMORY);
            default -> throw usage("--store '" + store + "' is not disk or memory");
        }
        try {
            b.durability(BrokerConfig.Durability.valueOf(durability.toUpperCase(java.util.Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            throw usage("--durability '" + durability + "' is not always, batch or never");
        }
        b.syncInterval(syncInterval);
        return b.build();
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
