package dev.wirebus.cli;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.ReconnectPolicy;
import dev.wirebus.client.WirebusClient;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Executor;

/**
 * Where a client command finds the broker: {@code --uds PATH} or {@code --tcp HOST:PORT}, else
 * the broker's default socket (the one {@code wirebus serve} listens on without flags).
 */
final class ConnectOptions {

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Target target;

    static final class Target {
        @Option(names = "--uds", paramLabel = "PATH",
                description = "Broker's Unix socket (default: $WIREBUS_SOCKET, else $XDG_RUNTIME_DIR/wirebus.sock, "
                        + "else ./wirebus.sock).")
        Path uds;

        @Option(names = "--tcp", paramLabel = "HOST:PORT", converter = HostPort.Converter.class,
                description = "Connect over TCP instead, e.g. 127.0.0.1:7440.")
        HostPort tcp;
    }

    /** The client address: {@code unix:///path} or {@code tcp://host:port}. */
    String address() {
        if (target != null && target.tcp != null) {
            return target.tcp.uri();
        }
        if (target != null && target.uds != null) {
            return "unix://" + target.uds.toAbsolutePath().normalize();
        }
        return WirebusClient.defaultAddress();
    }

    /**
     * A client that does not reconnect (pub, req, sub), so a lost broker fails the command at once
     * instead of leaving it waiting or resuming where it should not.
     *
     * @throws ConnectionException saying why the broker cannot be reached
     */
    WirebusClient connectOnce(String name) {
        return connectOnce(name, new ConnectionListener() { });
    }

    /** {@link #connectOnce(String)}, telling {@code listener} about errors no call receives. */
    WirebusClient connectOnce(String name, ConnectionListener listener) {
        return WirebusClient.builder()
                .address(address())
                .name(name)
                .reconnectPolicy(ReconnectPolicy.never())
                .listener(listener)
                .connect();
    }

    /**
     * A long-running client (respond): reconnects and resumes after a lost connection, telling
     * the user on {@code err} as it happens.
     */
    WirebusClient connectLasting(String name, ConnectionReporter reporter, Executor dispatch) {
        WirebusClient.Builder b = WirebusClient.builder()
                .address(address())
                .name(name)
                .listener(reporter);
        if (dispatch != null) {
            b.dispatchExecutor(dispatch);
        }
        return b.connect();
    }
}
