package dev.wirebus.systemtests;

import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.testing.EmbeddedBroker;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client given an event loop of its caller's ({@code WirebusClient.Builder.eventLoop}, as the HTTP
 * gateway runs its broker connection) does its I/O there: publishes are acknowledged, requests
 * answered, and messages handed to a direct dispatcher on that loop's thread; closing the client
 * leaves the loop serving, and a second client can then use the same loop.
 */
@Timeout(60)
class CallerEventLoopTest {
    private static EventLoopGroup newLoops() {
        return new MultiThreadIoEventLoopGroup(1,
                Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    }

    @ParameterizedTest
    @EnumSource(EmbeddedBroker.Transport.class)
    void clientRunsOnTheCallersLoopAndLeavesItRunningWhenClosed(EmbeddedBroker.Transport transport) throws Exception {
        EventLoopGroup loops = newLoops();
        EventLoop loop = loops.next();
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            List<Boolean> deliveredOnLoop = new CopyOnWriteArrayList<>();
            try (WirebusClient client = broker.client(transport).eventLoop(loop).dispatchExecutor(Runnable::run).connect();
                 WirebusClient responder = broker.client(transport).connect()) {
                responder.respond("echo", req -> req.payload()).get(10, TimeUnit.SECONDS);
                Subscription sub = client.subscribe("loop", StartPosition.earliest(),
                        m -> deliveredOnLoop.add(loop.inEventLoop()));
                sub.started().get(10, TimeUnit.SECONDS);
                for (int i = 1; i <= 100; i++) {
                    assertThat(client.publish("loop", ("m" + i).getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS).firstSequence())
                            .isEqualTo(i);
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> deliveredOnLoop.size() == 100);
                assertThat(deliveredOnLoop).containsOnly(true);
                byte[] reply = client.request("echo", "ping".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(5))
                        .get(10, TimeUnit.SECONDS);
                assertThat(new String(reply, StandardCharsets.UTF_8)).isEqualTo("ping");
            }
            // closed: the loop is the caller's and still serves, a new client can use it
            assertThat(loops.isShuttingDown()).isFalse();
            assertThat(loop.submit(() -> 42).get(5, TimeUnit.SECONDS)).isEqualTo(42);
            try (WirebusClient again = broker.client(transport).eventLoop(loop).connect()) {
                assertThat(again.publish("loop", "after".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS).firstSequence())
                        .isEqualTo(101);
            }
        } finally {
            loops.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }
}
