package dev.wirebus.systemtests;

import dev.wirebus.client.Message;
import dev.wirebus.client.ReconnectPolicy;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A real broker process, killed with SIGKILL at random moments while a producer publishes: after
 * each restart every acknowledged message is there, at its sequence, in order, once, uncorrupted.
 */
class CrashRecoveryTest {
    private static final int ROUNDS = 20;

    @TempDir
    Path dir;

    /** Reads the stream up to the marker just published and checks it against every acknowledgement. */
    private static void verify(WirebusClient c, Map<Long, String> acked, int round) throws Exception {
        String marker = "marker-" + round;
        long markerSeq = c.publish("crash", marker.getBytes(StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS).firstSequence();
        acked.put(markerSeq, marker);
        List<Message> all = new CopyOnWriteArrayList<>();
        try (var sub = c.subscribe("crash", StartPosition.earliest(), all::add)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> all.size() >= markerSeq);
        }
        assertThat(all).hasSize((int) markerSeq);
        Set<String> payloads = new HashSet<>();
        for (int i = 0; i < all.size(); i++) {
            Message m = all.get(i);
            assertThat(m.sequence()).isEqualTo(i + 1L);
            String p = m.payloadAsString();
            assertThat(p).matches("(p|marker)-\\d+");
            assertThat(payloads.add(p)).as("duplicate %s at %d", p, m.sequence()).isTrue();
        }
        for (Map.Entry<Long, String> e : acked.entrySet()) {
            assertThat(all.get((int) (e.getKey() - 1)).payloadAsString()).as("acknowledged sequence %d", e.getKey())
                    .isEqualTo(e.getValue());
        }
        assertThat(all.get(all.size() - 1).payloadAsString()).isEqualTo(marker);
    }

    @ParameterizedTest
    @EnumSource(value = BrokerConfig.Durability.class, names = {"ALWAYS", "BATCH"})
    void everyAcknowledgedMessageSurvivesTwentySigkills(BrokerConfig.Durability durability) throws Exception {
        Path socket = dir.resolve("w.sock");
        Path data = dir.resolve("data");
        Map<Long, String> acked = new ConcurrentHashMap<>();
        AtomicLong counter = new AtomicLong();
        for (int round = 0; round <= ROUNDS; round++) {
            BrokerProcess broker = BrokerProcess.start(socket, data, durability, dir.resolve("broker.err"));
            try (WirebusClient c = WirebusClient.builder().address("unix://" + socket).name("producer")
                    .reconnectPolicy(ReconnectPolicy.never()).requestTimeout(Duration.ofSeconds(30)).connect()) {
                verify(c, acked, round);
                if (round == ROUNDS) {
                    break;
                }
                AtomicBoolean stop = new AtomicBoolean();
                Semaphore window = new Semaphore(64);
                long ackedBefore = acked.size();
                Thread producer = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            if (!window.tryAcquire(1, TimeUnit.SECONDS)) {
                                continue;
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                        String payload = "p-" + counter.incrementAndGet();
                        c.publish("crash", payload.getBytes(StandardCharsets.UTF_8)).whenComplete((seq, e) -> {
                            if (e == null) {
                                acked.put(seq.firstSequence(), payload);
                            }
                            window.release();
                        });
                    }
                });
                producer.start();
                // kill after a random number of further acknowledgements, mid-stream
                long more = ThreadLocalRandom.current().nextLong(50, 3000);
                await().atMost(Duration.ofSeconds(60)).until(() -> acked.size() >= ackedBefore + more);
                broker.kill();
                stop.set(true);
                producer.join(10_000);
            } finally {
                broker.close();
            }
        }
        assertThat(acked.size()).isGreaterThan(ROUNDS * 50);
    }
}
