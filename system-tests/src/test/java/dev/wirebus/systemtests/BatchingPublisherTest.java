package dev.wirebus.systemtests;

import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.BatchingPublisher;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class BatchingPublisherTest {

    @Test
    void oneWorkerKeepsQueueOrderAndAcksEveryMessageWithItsSequence() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             BatchingPublisher pub = BatchingPublisher.builder().address(broker.unixAddress()).maxBatchMessages(100).build();
             WirebusClient reader = broker.client(EmbeddedBroker.Transport.UNIX).connect()) {
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                acks.add(pub.publish("tx", ("m" + i).getBytes(StandardCharsets.UTF_8)));
            }
            for (int i = 0; i < acks.size(); i++) {
                assertThat(acks.get(i).get(30, TimeUnit.SECONDS)).isEqualTo(i + 1L);
            }
            List<Message> got = new CopyOnWriteArrayList<>();
            reader.subscribe("tx", StartPosition.earliest(), got::add);
            await().atMost(Duration.ofSeconds(30)).until(() -> got.size() == 20_000);
            for (int i = 0; i < got.size(); i++) {
                assertThat(got.get(i).payloadAsString()).isEqualTo("m" + i);
            }
            assertThat(pub.ackedCount()).isEqualTo(20_000);
        }
    }

    @Test
    void severalWorkersDeliverEveryFireAndForgetMessageExactlyOnce() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             BatchingPublisher pub = BatchingPublisher.builder().address(broker.tcpAddress()).workers(4).build()) {
            for (int i = 0; i < 50_000; i++) {
                assertThat(pub.send("ingress", ("tx-" + i).getBytes(StandardCharsets.UTF_8))).isTrue();
            }
            assertThat(pub.flush(Duration.ofSeconds(30))).isTrue();
            assertThat(pub.ackedCount()).isEqualTo(50_000);
            assertThat(pub.failedCount()).isZero();
            try (WirebusClient reader = broker.client(EmbeddedBroker.Transport.TCP).connect()) {
                Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
                AtomicLong count = new AtomicLong();
                reader.subscribe("ingress", StartPosition.earliest(), m -> {
                    seen.add(m.payloadAsString());
                    count.incrementAndGet();
                });
                await().atMost(Duration.ofSeconds(30)).until(() -> count.get() == 50_000);
                assertThat(seen).hasSize(50_000);
            }
        }
    }

    @Test
    void severalWorkersKeepEachStreamsOrder() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             BatchingPublisher pub = BatchingPublisher.builder().address(broker.unixAddress()).workers(4)
                     .maxBatchMessages(50).build();
             WirebusClient reader = broker.client(EmbeddedBroker.Transport.UNIX).connect()) {
            String[] streams = {"orders", "payments", "audit", "metrics", "chat"};
            for (int i = 0; i < 20_000; i++) {
                assertThat(pub.send(streams[i % streams.length], ("m" + i).getBytes(StandardCharsets.UTF_8))).isTrue();
            }
            assertThat(pub.flush(Duration.ofSeconds(30))).isTrue();
            for (int s = 0; s < streams.length; s++) {
                List<Message> got = new CopyOnWriteArrayList<>();
                reader.subscribe(streams[s], StartPosition.earliest(), got::add);
                await().atMost(Duration.ofSeconds(30)).until(() -> got.size() == 4000);
                for (int k = 0; k < got.size(); k++) {
                    assertThat(got.get(k).payloadAsString()).isEqualTo("m" + (k * streams.length + s));
                }
            }
        }
    }

    @Test
    void aFullQueueRejectsAtOnceOrAfterTheBlockDeadline() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            // a broker that cannot be reached keeps the queue full: the worker's connection is cut
            BatchingPublisher reject = BatchingPublisher.builder().address(broker.unixAddress()).name("rej")
                    .queueCapacity(4).maxInFlightBatches(1).maxBatchMessages(1)
                    .whenFull(BatchingPublisher.WhenFull.REJECT).requestTimeout(Duration.ofSeconds(3)).build();
            broker.broker().close();
            int accepted = 0;
            int refused = 0;
            for (int i = 0; i < 50; i++) {
                if (reject.send("s", new byte[1])) {
                    accepted++;
                } else {
                    refused++;
                }
            }
            assertThat(refused).isPositive();
            assertThat(reject.rejectedCount()).isEqualTo(refused);
            long rejectedBefore = reject.rejectedCount();
            CompletableFuture<Long> f = reject.publish("s", new byte[1]);
            boolean publishAccepted = reject.rejectedCount() == rejectedBefore;
            if (!publishAccepted) {
                assertThatThrownBy(f::get).cause().isInstanceOf(BackpressureException.class)
                        .hasMessageContaining("full");
            }
            reject.close();
            // nothing vanished: every accepted message was acknowledged or counted as failed
            assertThat(reject.ackedCount() + reject.failedCount()).isEqualTo(accepted + (publishAccepted ? 1 : 0));
        }
    }

    @Test
    void aBatchWhoseConnectionDiesFailsItsFuturesAndIsNotResent() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             BatchingPublisher pub = BatchingPublisher.builder().address(broker.unixAddress()).name("ingress")
                     .maxBatchMessages(500).build()) {
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 0; i < 200_000; i++) {
                acks.add(pub.publish("tx", ("m" + i).getBytes(StandardCharsets.UTF_8)));
                if (i == 100_000) {
                    broker.broker().disconnect("ingress-0");
                }
            }
            Set<Long> sequences = new HashSet<>();
            int failed = 0;
            for (CompletableFuture<Long> a : acks) {
                try {
                    assertThat(sequences.add(a.get(30, TimeUnit.SECONDS))).isTrue();
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(ConnectionException.class);
                    failed++;
                }
            }
            // each acknowledged message is on the stream once; failed ones were never sent again
            assertThat(broker.broker().lastSequence("tx")).isGreaterThanOrEqualTo(sequences.size());
            assertThat(broker.broker().lastSequence("tx")).isLessThanOrEqualTo(sequences.size() + failed);
            assertThat(sequences.size() + failed).isEqualTo(200_000);
        }
    }
}
