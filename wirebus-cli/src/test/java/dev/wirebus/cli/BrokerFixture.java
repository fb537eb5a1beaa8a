package dev.wirebus.cli;

import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A real broker per test, on a socket in a temporary directory and on a free TCP port. */
@Timeout(120)
abstract class BrokerFixture {
    @TempDir
    Path dir;

    Broker broker;
    String socket;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void startBroker() throws Exception {
        broker = startBroker(BrokerConfig.builder());
        socket = broker.unixSocket().toString();
    }

    /** A broker on {@code dir/wirebus.sock} and 127.0.0.1:0 with the given settings, closed after the test. */
    Broker startBroker(BrokerConfig.Builder config) throws Exception {
        Broker b = Broker.start(config.unixSocket(dir.resolve("b" + toClose.size() + ".sock"))
                .tcp(new InetSocketAddress("127.0.0.1", 0)).build());
        toClose.add(b);
        return b;
    }

    /** A Java client of the broker, closed after the test. */
    WirebusClient client() {
        WirebusClient c = WirebusClient.builder().address("unix://" + socket).connect();
        toClose.add(c);
        return c;
    }

    void publish(String stream, String... payloads) {
        WirebusClient c = client();
        for (String p : payloads) {
            c.publish(stream, p.getBytes(StandardCharsets.UTF_8)).join();
        }
    }

    String tcp() {
        return "127.0.0.1:" + broker.tcpAddress().getPort();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }
}
