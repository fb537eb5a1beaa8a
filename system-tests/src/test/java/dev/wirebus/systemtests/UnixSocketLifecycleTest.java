package dev.wirebus.systemtests;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The socket file's life: stale files, live brokers, permissions, removal, and what clients are told. */
class UnixSocketLifecycleTest {
    @TempDir
    Path dir;

    private static BrokerConfig.Builder at(Path socket) {
        return BrokerConfig.builder().unixSocket(socket);
    }

    /** Leaves a socket file behind with nobody listening, as a crashed broker does. */
    private static void leaveStaleSocket(Path socket) throws IOException {
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(socket).exists();
    }

    @Test
    void aStaleSocketFileIsReplacedOnStart() throws Exception {
        Path socket = dir.resolve("w.sock");
        leaveStaleSocket(socket);
        try (Broker broker = Broker.start(at(socket).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + socket).connect()) {
            assertThat(c.publish("s", new byte[] {1}).get(5, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
        }
    }

    @Test
    void aSecondBrokerOnALivePathRefusesNamingThePath() throws Exception {
        Path socket = dir.resolve("w.sock");
        try (Broker first = Broker.start(at(socket).build())) {
            assertThatThrownBy(() -> Broker.start(at(socket).build()))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(socket.toString())
                    .hasMessageContaining("another broker is listening");
            // the first broker is untouched
            try (WirebusClient c = WirebusClient.builder().address("unix://" + socket).connect()) {
                assertThat(c.ping().get(5, TimeUnit.SECONDS)).isPositive();
            }
        }
    }

    @Test
    void theSocketFileIsPrivateByDefaultAndRemovedOnShutdown() throws Exception {
        Path socket = dir.resolve("w.sock");
        try (Broker broker = Broker.start(at(socket).build())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");
        }
        assertThat(socket).doesNotExist();
        try (Broker broker = Broker.start(at(socket).socketPermissions("rw-rw----").build())) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-rw----");
        }
    }

    @Test
    void aPathThatIsARegularFileIsNeverDeleted() throws Exception {
        Path file = dir.resolve("data.txt");
        Files.writeString(file, "precious");
        assertThatThrownBy(() -> Broker.start(at(file).build())).isInstanceOf(IOException.class)
                .hasMessageContaining("not a socket");
        assertThat(file).hasContent("precious");
    }

    @Test
    void clientsAreToldWhetherTheFileIsMissingOrNobodyListens() throws Exception {
        Path missing = dir.resolve("missing.sock");
        assertThatThrownBy(() -> WirebusClient.builder().address("unix://" + missing).connect())
                .isInstanceOf(ConnectionException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("no such file");
        Path stale = dir.resolve("stale.sock");
        leaveStaleSocket(stale);
        assertThatThrownBy(() -> WirebusClient.builder().address("unix://" + stale).connect())
                .isInstanceOf(ConnectionException.class)
                .hasMessageContaining(stale.toString()).hasMessageContaining("connection refused");
        assertThatThrownBy(() -> WirebusClient.builder().address("tcp://127.0.0.1:1").connect())
                .isInstanceOf(ConnectionException.class).hasMessageContaining("127.0.0.1:1");
    }

    @Test
    void aFailedTcpBindLeavesNoUnixListenerOrSocketFileBehind() throws Exception {
        try (Broker holder = Broker.start(BrokerConfig.builder().tcp(new java.net.InetSocketAddress("127.0.0.1", 0)).build())) {
            Path socket = dir.resolve("w.sock");
            assertThatThrownBy(() -> Broker.start(at(socket).tcp(holder.tcpAddress()).build()))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("127.0.0.1:" + holder.tcpAddress().getPort())
                    .hasMessageContaining("address already in use");
            assertThat(socket).doesNotExist();
        }
    }

    @Test
    void aSubscriptionEndsVisiblyWhenAnInMemoryBrokerRestartsWithoutItsHistory() throws Exception {
        Path socket = dir.resolve("w.sock");
        Broker first = Broker.start(at(socket).build());
        try (WirebusClient c = WirebusClient.builder().address("unix://" + socket).connect()) {
            CopyOnWriteArrayList<Long> seen = new CopyOnWriteArrayList<>();
            dev.wirebus.client.Subscription sub = c.subscribe("chat", dev.wirebus.client.StartPosition.earliest(),
                    m -> seen.add(m.sequence()));
            c.publish("chat", new byte[] {1}).get(5, TimeUnit.SECONDS);
            c.publish("chat", new byte[] {2}).get(5, TimeUnit.SECONDS);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> seen.size() == 2);
            first.close();
            try (Broker second = Broker.start(at(socket).build())) {
                // the new broker's stream starts again at 1: resuming at 3 would silently skip 1 and 2
                assertThatThrownBy(() -> sub.closed().get(10, TimeUnit.SECONDS))
                        .cause().isInstanceOf(ConnectionException.class)
                        .hasMessageContaining("different store");
                assertThat(c.publish("chat", new byte[] {3}).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(1L);
                assertThat(seen).containsExactly(1L, 2L);
            }
        } finally {
            first.close();
        }
    }

    @Test
    void gracefulShutdownAnswersInFlightRequestsAndSendsGoAway() throws Exception {
        Path socket = dir.resolve("w.sock");
        Broker broker = Broker.start(at(socket).shutdownGrace(Duration.ofSeconds(5)).build());
        CopyOnWriteArrayList<Throwable> requesterErrors = new CopyOnWriteArrayList<>();
        try (WirebusClient responder = WirebusClient.builder().address("unix://" + socket).name("responder").connect();
             WirebusClient requester = WirebusClient.builder().address("unix://" + socket).name("requester")
                     .listener(new dev.wirebus.client.ConnectionListener() {
                         @Override
                         public void onError(Throwable error) {
                             requesterErrors.add(error);
                         }
                     }).connect()) {
            CountDownLatch inHandler = new CountDownLatch(1);
            CountDownLatch finish = new CountDownLatch(1);
            responder.respond("slow", r -> {
                inHandler.countDown();
                finish.await(10, TimeUnit.SECONDS);
                return "done".getBytes();
            }).get(5, TimeUnit.SECONDS);
            CompletableFuture<byte[]> inFlight = requester.request("slow", new byte[0], Duration.ofSeconds(20));
            assertThat(inHandler.await(5, TimeUnit.SECONDS)).isTrue();
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(broker::close);
            // GOAWAY reaches the clients while the request is still in flight
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> requesterErrors.stream().anyMatch(e -> e.getMessage().contains("going away")));
            assertThatThrownBy(() -> requester.publish("s", new byte[1]).get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.SHUTTING_DOWN);
            finish.countDown();
            assertThat(inFlight.get(5, TimeUnit.SECONDS)).isEqualTo("done".getBytes());
            shutdown.get(10, TimeUnit.SECONDS);
            assertThat(socket).doesNotExist();
        } finally {
            broker.close();
        }
    }
}
