package dev.wirebus.bench;

import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * A broker in a JVM of its own, for {@code --broker-process}: client and broker then share no heap,
 * GC or JIT. Prints one line {@code WIREBUS-BROKER READY transport=... uds=... tcp=host:port pid=...}
 * once it listens, and shuts down gracefully when its standard input ends (the parent closed it or
 * died) or on SIGTERM.
 *
 * <pre>{@code
 * java -cp bench/target/wirebus-bench.jar dev.wirebus.bench.BrokerMain --uds /tmp/b.sock --tcp 127.0.0.1:0
 * }</pre>
 */
@Command(name = "BrokerMain", mixinStandardHelpOptions = true,
        description = "Runs a wirebus broker until standard input ends; for the benchmarks' --broker-process.")
public final class BrokerMain implements Callable<Integer> {
    static final String READY = "WIREBUS-BROKER READY";

    @Option(names = "--uds", paramLabel = "PATH", description = "Unix socket path.")
    Path uds;

    @Option(names = "--tcp", paramLabel = "HOST:PORT", description = "TCP address (port 0 picks a free one).")
    String tcp;

    @Option(names = "--io-threads", defaultValue = "0", description = "Event-loop threads (0 = Netty default).")
    int ioThreads;

    @Option(names = "--retention-messages", defaultValue = "1000000", description = "Per-stream retention.")
    long retentionMessages;

    public static void main(String[] args) {
        System.exit(new CommandLine(new BrokerMain()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        BrokerConfig.Builder b = BrokerConfig.builder().ioThreads(ioThreads).retentionMessages(retentionMessages)
                .shutdownGrace(java.time.Duration.ofSeconds(1));
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
            try (InputStream in = System.in) {
                while (in.read() >= 0) {
                    // nothing is expected on stdin; its end is the signal to stop
                }
            } catch (IOException ignored) {
                // treat a broken stdin like its end
            }
            broker.close();
        }, "stdin-watch");
        stdinWatch.setDaemon(true);
        stdinWatch.start();
        InetSocketAddress t = broker.tcpAddress();
        System.out.println(READY + " transport=" + broker.transportName()
                + " uds=" + (broker.unixSocket() == null ? "-" : broker.unixSocket())
                + " tcp=" + (t == null ? "-" : t.getHostString() + ":" + t.getPort())
                + " pid=" + ProcessHandle.current().pid());
        System.out.flush();
        broker.awaitTermination();
        return 0;
    }
}
