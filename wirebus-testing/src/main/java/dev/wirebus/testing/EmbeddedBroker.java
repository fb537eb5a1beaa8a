package dev.wirebus.testing;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A real wirebus broker for tests, listening on a Unix socket in a fresh temporary directory and
 * on a free TCP port of 127.0.0.1. Closing it shuts the broker down and removes the directory.
 *
 * <pre>{@code
 * try (EmbeddedBroker broker = EmbeddedBroker.start();
 *      WirebusClient client = broker.client(EmbeddedBroker.Transport.UNIX).connect()) {
 *     client.publish("orders", bytes).join();
 * }
 * }</pre>
 */
public final class EmbeddedBroker implements AutoCloseable {
    /** Which listener a client uses. */
    public enum Transport { UNIX, TCP }

    private final Path directory;
    private final Broker broker;

    private EmbeddedBroker(Path directory, Broker broker) {
        this.directory = directory;
        this.broker = broker;
    }

    /** Starts a broker with the default settings. */
    public static EmbeddedBroker start() {
        return start(b -> { });
    }

    /** Starts a broker; {@code customizer} may change any setting but the listeners. */
    public static EmbeddedBroker start(Consumer<BrokerConfig.Builder> customizer) {
        try {
            Path dir = Files.createTempDirectory("wirebus-test");
            BrokerConfig.Builder b = BrokerConfig.builder();
            customizer.accept(b);
            b.unixSocket(dir.resolve("wirebus.sock")).tcp(new InetSocketAddress("127.0.0.1", 0));
            return new EmbeddedBroker(dir, Broker.start(b.build()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start an embedded broker", e);
        }
    }

    /** The running broker. */
    public Broker broker() {
        return broker;
    }

    /** {@code unix:///...} address of the broker. */
    public String unixAddress() {
        return "unix://" + broker.unixSocket();
    }

    /** {@code tcp://127.0.0.1:PORT} address of the broker. */
    public String tcpAddress() {
        return "tcp://127.0.0.1:" + broker.tcpAddress().getPort();
    }

    /** Address for a transport. */
    public String address(Transport transport) {
        return transport == Transport.UNIX ? unixAddress() : tcpAddress();
    }

    /** A client builder pointed at this broker over {@code transport}. */
    public WirebusClient.Builder client(Transport transport) {
        return WirebusClient.builder().address(address(transport));
    }

    /** Shuts the broker down and deletes its temporary directory. */
    @Override
    public void close() {
        broker.close();
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp directory is harmless
        }
    }
}
