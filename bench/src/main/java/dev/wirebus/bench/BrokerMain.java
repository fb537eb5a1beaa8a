package dev.wirebus.bench;

import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * A broker in a JVM of its own, for {@code --broker-process}: client and broker then share no heap,
 * GC or JIT. Prints {@code WIREBUS-BROKER STORAGE <description>}, then one line
 * {@code WIREBUS-BROKER READY transport=... uds=... tcp=host:port pid=...} once it listens, and
 * shuts down gracefully when its standard input ends (the parent closed it or died) or on SIGTERM.
 *
 * <p>Standard input also takes one query, a line {@code fsyncs FROM TO} (epoch nanoseconds): the
 * answer is a line {@code WIREBUS-BROKER FSYNCS N}, the fsyncs this JVM started in that window
 * ({@link FsyncCounter}, with {@code --count-fsyncs}), or -1 when it does not count them.
 *
 * <pre>{@code
 * java -cp bench/target/wirebus-bench.jar dev.wirebus.bench.BrokerMain --uds /tmp/b.sock --tcp 127.0.0.1:0
 * java -cp bench/target/wirebus-bench.jar dev.wirebus.bench.BrokerMain --uds /tmp/b.sock --store disk --data /tmp/d --durability always
 * }</pre>
 */
@Command(name = "BrokerMain", mixinStandardHelpOptions = true,
        description = "Runs a wirebus broker until standard input ends; for the benchmarks' --broker-process.")
public final class BrokerMain implements Callable<Integer> {
    static final String READY = "WIREBUS-BROKER READY";
    static final String STORAGE = "WIREBUS-BROKER STORAGE";
    static final String FSYNCS = "WIREBUS-BROKER FSYNCS";

    @Option(names = "--uds", paramLabel = "PATH", description = "Unix socket path.")
    Path uds;

    @Option(names = "--tcp", paramLabel = "HOST:PORT", description = "TCP address (port 0 picks a free one).")
    String tcp;

    @Option(names = "--io-threads", defaultValue = "0", description = "Event-loop threads (0 = Netty default).")
    int ioThreads;

    @Option(names = "--retention-messages", defaultValue = "1000000", description = "Per-stream retention.")
    long retentionMessages;

    @Option(names = "--store", paramLabel = "memory|disk", defaultValue = "memory", description = "Where streams live.")
    String store;

    @Option(names = "--data", paramLabel = "DIR", description = "Data directory of a disk store (required with --store disk).")
    Path data;

    @Option(names = "--durability", paramLabel = "always|batch|never", defaultValue = "batch",
            description = "When disk publishes are acknowledged.")
    String durability;

    @Option(names = "--sync-interval", defaultValue = "5ms", converter = BenchOptions.DurationConverter.class,
            description = "Longest a publish waits for its fsync under durability batch.")
    java.time.Duration syncInterval;

    @Option(names = "--count-fsyncs", description = "Count this JVM's fsyncs (JFR) and answer 'fsyncs FROM TO' on stdin.")
    boolean countFsyncs;

    public static void main(String[] args) {
        System.exit(new CommandLine(new BrokerMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        BrokerConfig.Builder b = BrokerConfig.builder().ioThreads(ioThreads).retentionMessages(retentionMessages)
                .shutdownGrace(java.time.Duration.ofSeconds(1));
        BrokerStore s = BrokerStore.parseStorage(store) == BrokerConfig.Storage.MEMORY ? BrokerStore.memory()
                : BrokerStore.disk(BrokerStore.parseDurability(durability), syncInterval);
        if (s.disk() && data == null) {
            throw new IllegalArgumentException("--store disk needs --data DIR");
        }
        s.apply(b, data);
        // before the broker opens its files, so that JFR sees every force from the first
        FsyncCounter counter = countFsyncs ? FsyncCounter.get() : null;
        if (uds != null) {
            b.unixSocket(uds);
        }
        if (tcp != null) {
            int colon = tcp.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--tcp must be HOST:PORT, was " + tcp);
            }
            b.tcp(new InetSocketAddress(tcp.substring(0, colon), Integer.parseInt(tcp.substring(colon + 1))));
        }
        Broker broker = Broker.start(b.build());
        Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "broker-shutdown"));
        Thread stdinWatch = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    answer(line.trim(), counter);
                }
            } catch (IOException ignored) {
                // treat a broken stdin like its end
            }
            broker.close();
        }, "stdin-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        InetSocketAddress t = broker.tcpAddress();
        System.out.println(STORAGE + " " + broker.storageDescription());
        System.out.println(READY + " transport=" + broker.transportName()
                + " uds=" + (broker.unixSocket() == null ? "-" : broker.unixSocket())
                + " tcp=" + (t == null ? "-" : t.getHostString() + ":" + t.getPort())
                + " pid=" + ProcessHandle.current().pid());
        System.out.flush();
        broker.awaitTermination();
        return 0;
    }

    /** Answers one query line from standard input; anything else is ignored. */
    private static void answer(String line, FsyncCounter counter) {
        String[] q = line.split("\\s+");
        if (q.length == 3 && q[0].equals("fsyncs")) {
            long n = -1;
            if (counter != null) {
                try {
                    n = counter.count(Long.parseLong(q[1]), Long.parseLong(q[2]), java.time.Duration.ofSeconds(10));
                } catch (NumberFormatException e) {
                    n = -1;
                }
            }
            System.out.println(FSYNCS + " " + n);
            System.out.flush();
        }
    }
}
