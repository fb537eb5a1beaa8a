package dev.wirebus.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP load balancer in front of several gateways, as a browser meets one: each new connection
 * goes to the backend the last one went to, or, when that one refuses, to the next that accepts.
 * Existing connections to a backend that goes away break (the browser sees a dropped connection).
 * With one backend it is a plain forwarder; after {@link #stall()} nothing more goes through in
 * either direction while the connections stay open, as with a peer that hangs. Real sockets, one
 * thread per direction.
 */
final class TcpBalancer implements AutoCloseable {
    private final ServerSocket server;
    private final List<InetSocketAddress> backends;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile int current;
    private volatile boolean stalled;

    TcpBalancer(List<InetSocketAddress> backends) {
        this.backends = List.copyOf(backends);
        try {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Thread acceptor = new Thread(this::accept, "tcp-balancer");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** {@code tcp://127.0.0.1:PORT} of the balancer, for a protocol client. */
    String address() {
        return "tcp://127.0.0.1:" + port();
    }

    /** From now on nothing is forwarded; the connections stay open until {@link #close()}. */
    void stall() {
        stalled = true;
    }

    private void accept() {
        try {
            while (true) {
                Socket client = server.accept();
                Socket upstream = connect();
                if (upstream == null) {
                    client.close(); // no backend accepts: as a balancer with no healthy target
                    continue;
                }
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            }
        } catch (IOException e) {
            // closed
        }
    }

    private Socket connect() {
        for (int i = 0; i < backends.size(); i++) {
            int index = (current + i) % backends.size();
            InetSocketAddress b = backends.get(index);
            try {
                Socket s = new Socket(b.getAddress(), b.getPort());
                current = index;
                return s;
            } catch (IOException refused) {
                // this backend is gone: the next one
            }
        }
        return null;
    }

    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (stalled) {
                        synchronized (this) {
                            while (!server.isClosed()) {
                                wait(); // hold the bytes: the peer waits until the balancer is closed
                            }
                        }
                        return;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException | InterruptedException e) {
                // one side went away, or closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }, "tcp-balancer-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException ignored) {
            // closing
        }
        synchronized (this) {
            notifyAll();
        }
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }
}
