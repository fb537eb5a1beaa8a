package dev.wirebus.systemtests;

import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.Message;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Durable consumers: exact resume, and producers paced by a gating consumer (the consensus → executor case). */
class DurableConsumerTest {
    @TempDir
    Path dir;

    private BrokerConfig.Builder disk() {
        return BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .dataDirectory(dir.resolve("data")).durability(BrokerConfig.Durability.BATCH)
                .publishWait(Duration.ofMillis(400));
    }

    private static WirebusClient connect(Broker b, String name) {
        return WirebusClient.builder().address("unix://" + b.unixSocket()).name(name).connect();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static SubscribeOptions executor(int maxLag) {
        return SubscribeOptions.builder().start(StartPosition.sequence(1)).consumer("executor")
                .ackMode(SubscribeOptions.AckMode.EXPLICIT).maxLag(maxLag).build();
    }

    private static void publishBlocks(WirebusClient c, int from, int to) throws Exception {
        for (int i = from; i <= to; i++) {
            c.publish("blocks", utf8("block-" + i), i).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aConsumerResumesExactlyAfterItsLastAcknowledgementAcrossConsumerAndBrokerRestarts() throws Exception {
        try (Broker broker = Broker.start(disk().build()); WirebusClient p = connect(broker, "producer")) {
            publishBlocks(p, 1, 1000);
            try (WirebusClient c = connect(broker, "executor-1")) {
                List<Message> got = new CopyOnWriteArrayList<>();
                Subscription sub = c.subscribe("blocks", executor(0), got::add);
                await().atMost(Duration.ofSeconds(10)).until(() -> got.size() >= 300);
                sub.ack(300).get(10, TimeUnit.SECONDS);   // handled up to 300, then the executor stops
            }
            try (WirebusClient c = connect(broker, "executor-2")) {
                List<Message> got = new CopyOnWriteArrayList<>();
                Subscription sub = c.subscribe("blocks", executor(0), got::add);
                assertThat(sub.started().get(10, TimeUnit.SECONDS)).isEqualTo(301L);
                await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 700);
                assertThat(got.get(0).payloadAsString()).isEqualTo("block-301");
                sub.ack(600).get(10, TimeUnit.SECONDS);
            }
        }
        // a restart of the broker keeps the position
        try (Broker broker = Broker.start(disk().build()); WirebusClient c = connect(broker, "executor-3")) {
            List<Message> got = new CopyOnWriteArrayList<>();
            Subscription sub = c.subscribe("blocks", executor(0), got::add);
            assertThat(sub.started().get(10, TimeUnit.SECONDS)).isEqualTo(601L);
            await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 400);
            assertThat(got.get(0).sequence()).isEqualTo(601L);
            List<ConsumerInfo> cs = c.consumers("blocks").get(5, TimeUnit.SECONDS).consumers();
            assertThat(cs).singleElement().satisfies(ci -> {
                assertThat(ci.name()).isEqualTo("executor");
                assertThat(ci.ackedSequence()).isEqualTo(600);
                assertThat(ci.lag()).isEqualTo(400);
                assertThat(ci.connected()).isTrue();
            });
        }
    }

    @Test
    void aConsumerAcknowledgingOnDeliveryResumesAfterWhatItWasSent() throws Exception {
        try (Broker broker = Broker.start(disk().build()); WirebusClient p = connect(broker, "producer")) {
            publishBlocks(p, 1, 100);
            SubscribeOptions onDelivery = SubscribeOptions.builder().consumer("audit")
                    .ackMode(SubscribeOptions.AckMode.ON_DELIVERY).build();
            try (WirebusClient c = connect(broker, "audit-1")) {
                List<Message> got = new CopyOnWriteArrayList<>();
                c.subscribe("blocks", onDelivery, got::add);
                await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 100);
            }
            publishBlocks(p, 101, 150);
            try (WirebusClient c = connect(broker, "audit-2")) {
                List<Message> got = new CopyOnWriteArrayList<>();
                assertThat(c.subscribe("blocks", onDelivery, got::add).started().get(10, TimeUnit.SECONDS)).isEqualTo(101L);
                await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 50);
            }
        }
    }

    @Test
    void aGatingConsumerPacesTheProducerExactlyAndTheLagNeverExceedsTheMaximum() throws Exception {
        int maxLag = 500;
        try (Broker broker = Broker.start(disk().publishWait(Duration.ofSeconds(30)).build());
             WirebusClient p = connect(broker, "consensus");
             WirebusClient c = connect(broker, "executor")) {
            Semaphore work = new Semaphore(0);   // the executor handles one block per permit
            AtomicReference<Subscription> sub = new AtomicReference<>();
            sub.set(c.subscribe("blocks", executor(maxLag), m -> {
                work.acquire();
                sub.get().ack(m.sequence());
            }));
            sub.get().started().get(10, TimeUnit.SECONDS);
            AtomicLong acked = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread producer = new Thread(() -> {
                try {
                    for (int i = 1; i <= 2000; i++) {
                        p.publish("blocks", utf8("block-" + i), i).get(60, TimeUnit.SECONDS);
                        acked.set(i);
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            producer.start();
            // the executor handles nothing: the producer gets exactly max lag ahead, then waits
            await().atMost(Duration.ofSeconds(20)).until(() -> acked.get() == maxLag);
            for (int handled = 100; handled <= 1500; handled += 100) {
                work.release(100);
                long h = handled;
                await().atMost(Duration.ofSeconds(20)).until(() -> acked.get() == h + maxLag);
                StreamLag lag = lagOf(c);
                assertThat(lag.lag).isLessThanOrEqualTo(maxLag);
            }
            work.release(10_000);
            producer.join(60_000);
            assertThat(failure.get()).isNull();
            assertThat(acked.get()).isEqualTo(2000);
        }
    }

    private record StreamLag(long last, long lag) {
    }

    private static StreamLag lagOf(WirebusClient c) throws Exception {
        var s = c.consumers("blocks").get(5, TimeUnit.SECONDS);
        return new StreamLag(s.lastSequence(), s.consumers().get(0).lag());
    }

    @Test
    void whenTheGatingConsumerStopsPublishesTimeOutAndNothingExtraIsAppended() throws Exception {
        try (Broker broker = Broker.start(disk().build());
             WirebusClient p = connect(broker, "consensus")) {
            try (WirebusClient c = connect(broker, "executor")) {
                AtomicReference<Subscription> sub = new AtomicReference<>();
                sub.set(c.subscribe("blocks", executor(50), m -> {
                    if (m.sequence() <= 20) {
                        sub.get().ack(m.sequence());
                    }
                }));
                sub.get().started().get(10, TimeUnit.SECONDS);
                publishBlocks(p, 1, 20);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> c.consumers("blocks").get().consumers().get(0).ackedSequence() == 20);
            }
            // the executor is gone at 20: 50 more fit, the next one waits 400 ms and fails
            publishBlocks(p, 21, 70);
            long start = System.nanoTime();
            CompletableFuture<Long> blocked = p.publish("blocks", utf8("block-71"), 71).thenApply(dev.wirebus.client.PublishAck::firstSequence);
            assertThatThrownBy(() -> blocked.get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(WirebusTimeoutException.class)
                    .hasMessageContaining("consumer 'executor'")
                    .hasMessageContaining("nothing was appended");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(400));
            assertThat(broker.lastSequence("blocks")).isEqualTo(70);
            // a batch that can never fit while the consumer is away fails the same way
            assertThatThrownBy(() -> p.publishBatch("blocks", List.of(utf8("x"), utf8("y"))).get(10, TimeUnit.SECONDS))
                    .cause().isInstanceOf(WirebusTimeoutException.class);
            assertThat(broker.lastSequence("blocks")).isEqualTo(70);
            // both refusals, and the time they spent held, are reported
            var gate = p.consumers("blocks").get(5, TimeUnit.SECONDS);
            assertThat(gate.rejectedPublishes()).isEqualTo(2);
            assertThat(gate.heldMillis()).isGreaterThanOrEqualTo(800);
            assertThat(gate.heldPublishes()).isZero();
            assertThat(gate.consumers().get(0).lag()).isEqualTo(50);
        }
    }

    @Test
    void ackOnAPlainSubscriptionIsRefusedClearly() throws Exception {
        try (Broker broker = Broker.start(disk().build()); WirebusClient c = connect(broker, "c")) {
            Subscription plain = c.subscribe("blocks", StartPosition.earliest(), m -> { });
            assertThatThrownBy(() -> plain.ack(1)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("not a durable consumer");
            assertThatThrownBy(() -> c.subscribe("blocks", SubscribeOptions.builder().consumer("bad name")
                    .build(), m -> { }).started().get(5, TimeUnit.SECONDS))
                    .cause().isInstanceOf(ServerRefusedException.class)
                    .extracting(e -> ((ServerRefusedException) e).errorCode()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        }
    }
}
