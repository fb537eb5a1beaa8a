package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.ReconnectPolicy;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import io.netty.channel.EventLoop;

/** A client's validated settings ({@code dispatchExecutor} and {@code eventLoop} may be null: the client makes its own). */
public record ClientOptions(String address, String name, Duration connectTimeout, Duration requestTimeout,
                            ReconnectPolicy reconnectPolicy, ConnectionListener listener, int maxInFlight,
                            int subscriptionWindow, Executor dispatchExecutor, EventLoop eventLoop,
                            ClientSecurity security) {

    public ClientOptions {
        security = security == null ? ClientSecurity.NONE : security;
    }

    /** Without security settings. */
    public ClientOptions(String address, String name, Duration connectTimeout, Duration requestTimeout,
                         ReconnectPolicy reconnectPolicy, ConnectionListener listener, int maxInFlight,
                         int subscriptionWindow, Executor dispatchExecutor, EventLoop eventLoop) {
        this(address, name, connectTimeout, requestTimeout, reconnectPolicy, listener, maxInFlight, subscriptionWindow,
                dispatchExecutor, eventLoop, ClientSecurity.NONE);
    }

    /** A parsed address: a Unix socket path, or a TCP host and port (with TLS for {@code tls://}). */
    public record Target(Path unixPath, InetSocketAddress tcp, boolean tls) {
        public Target(Path unixPath, InetSocketAddress tcp) {
            this(unixPath, tcp, false);
        }

        @Override
        public String toString() {
            return unixPath != null ? "unix://" + unixPath
                    : (tls ? "tls://" : "tcp://") + tcp.getHostString() + ":" + tcp.getPort();
        }
    }

    /** The addresses to connect to, in order: {@link #address()} split at commas (failover list). */
    public List<Target> targets() {
        return parseAddresses(address);
    }

    /**
     * Parses a comma-separated list of addresses ({@code tcp://a:7440,tcp://b:7440}); each as
     * {@link #parseAddress}. Blank entries are refused.
     */
    public static List<Target> parseAddresses(String addresses) {
        if (addresses == null || addresses.isBlank()) {
            throw new IllegalArgumentException("address is empty; use unix:///path or tcp://host:port");
        }
        List<Target> list = new ArrayList<>();
        for (String a : addresses.split(",", -1)) {
            if (a.isBlank()) {
                throw new IllegalArgumentException("address list '" + addresses + "' has an empty entry");
            }
            list.add(parseAddress(a.strip()));
        }
        return List.copyOf(list);
    }

    /**
     * Parses {@code unix:///path}, {@code tcp://host:port}, {@code tls://host:port} or a bare path.
     *
     * @throws IllegalArgumentException naming the address and what is wrong with it
     */
    public static Target parseAddress(String address) {
        if (address == null || address.isBlank()) {
            throw new IllegalArgumentException("address is empty; use unix:///path or tcp://host:port");
        }
        if (address.startsWith("unix://")) {
            String path = address.substring("unix://".length());
            if (path.isEmpty()) {
                throw new IllegalArgumentException("address '" + address + "' has no socket path");
            }
            return new Target(Path.of(path).toAbsolutePath(), null);
        }
        if (address.startsWith("tcp://") || address.startsWith("tls://")) {
            boolean tls = address.startsWith("tls://");
            URI uri = URI.create(address);
            if (uri.getHost() == null || uri.getPort() < 0) {
                throw new IllegalArgumentException("address '" + address + "' is not " + (tls ? "tls" : "tcp")
                        + "://host:port");
            }
            return new Target(null, InetSocketAddress.createUnresolved(uri.getHost(), uri.getPort()), tls);
        }
        if (address.contains("://")) {
            throw new IllegalArgumentException("address '" + address + "' has an unknown scheme; use unix://, tcp:// or tls://");
        }
        return new Target(Path.of(address).toAbsolutePath(), null);
    }
}
