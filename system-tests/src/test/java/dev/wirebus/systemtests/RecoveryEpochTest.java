package dev.wirebus.systemtests;

import ch.qos.logback.classic.Level;
import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.Message;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StoreChangedException;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Issue 11, item 6: a recovery that cuts records a client had seen (bit rot below the visible
 * end) changes the store id, so a resuming client gets STORE_CHANGED instead of new messages under
 * the sequences it already saw; the damaged bytes are kept in quarantine/; the log and the
 * metrics say so; the next restart keeps the new id.
 */
class RecoveryEpochTest {
    private static final int PAYLOAD = 64;
    /** Header (32) + record length (4) + payload: one entry per single-message publish. */
    private static final int ENTRY = 32 + 4 + PAYLOAD;

    @TempDir
    Path dir;

    private BrokerConfig.Builder disk(SimpleMeterRegistry meters) {
        return BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .dataDirectory(dir.resolve("data")).durability(BrokerConfig.Durability.ALWAYS)
                .segmentBytes(1 << 20).meterRegistry(meters);
    }

    private static byte[] payload(int i) {
        byte[] b = new byte[PAYLOAD];
        java.util.Arrays.fill(b, (byte) ('a' + i % 26));
        return b;
    }

    private static WirebusClient connect(Broker broker) {
        return WirebusClient.builder().address("unix://" + broker.unixSocket()).connect();
    }

    @Test
    void bitRotBelowTheVisibleEndChangesTheStoreIdAndQuarantinesTheBytes() throws Exception {
        SimpleMeterRegistry meters1 = new SimpleMeterRegistry();
        Broker first = Broker.start(disk(meters1).build());
        long firstStoreId = first.storeId();
        WirebusClient resumer = connect(first);
        List<Message> seen = new CopyOnWriteArrayList<>();
        Subscription following = resumer.subscribe("blocks", StartPosition.sequence(1), seen::add);
        try (WirebusClient producer = connect(first)) {
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 1; i <= 1000; i++) {
                acks.add(producer.publish("blocks", payload(i)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
            }
            for (int i = 0; i < 10; i++) {
                acks.add(producer.publish("other", payload(i)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
            }
            for (CompletableFuture<Long> a : acks) {
                a.get(30, TimeUnit.SECONDS);
            }
            List<Message> executed = new CopyOnWriteArrayList<>();
            Subscription exec = producer.subscribe("blocks", SubscribeOptions.builder().consumer("exec")
                    .ackMode(SubscribeOptions.AckMode.ON_DELIVERY).build(), executed::add);
            await().atMost(Duration.ofSeconds(20)).until(() -> seen.size() == 1000 && executed.size() == 1000);
            await().atMost(Duration.ofSeconds(10)).until(() -> acked(producer, "exec") == 1000);
            exec.close();
        }
        first.close(); // the resumer keeps trying to reconnect

        // bit rot in the entry of sequence 501, which every subscriber had seen
        Path segment = dir.resolve("data/streams/blocks/00000000000000000001.log");
        assertThat(Files.size(segment)).isEqualTo(1000L * ENTRY);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long at = 500L * ENTRY + 50;
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, at);
            b.put(0, (byte) (b.get(0) ^ 0x5A)).rewind();
            ch.write(b, at);
            ch.force(true);
        }

        SimpleMeterRegistry meters2 = new SimpleMeterRegistry();
        long secondStoreId;
        try (CapturedLog log = new CapturedLog();
             Broker second = Broker.start(disk(meters2).build())) {
            secondStoreId = second.storeId();
            assertThat(secondStoreId).isNotEqualTo(firstStoreId);
            assertThat(second.lastSequence("blocks")).isEqualTo(500);
            assertThat(second.lastSequence("other")).isEqualTo(10);
            assertThat(log.atLeast(Level.ERROR)).anySatisfy(line -> assertThat(line)
                    .contains("STORE EPOCH CHANGED", "'blocks'", "501..1000", "quarantine"));
            assertThat(meters2.get("wirebus.storage.epoch.changes").functionCounter().count()).isEqualTo(1);
            assertThat(meters2.get("wirebus.storage.recovery.cuts.below.visible").functionCounter().count())
                    .isEqualTo(1);
            assertThat(meters2.get("wirebus.storage.quarantined.files").functionCounter().count()).isEqualTo(1);
            // the damaged bytes are kept, not deleted: all 500 entries from the defect on
            try (Stream<Path> kept = Files.list(dir.resolve("data/quarantine/blocks"))) {
                List<Path> files = kept.toList();
                assertThat(files).hasSize(1);
                assertThat(files.get(0).getFileName().toString()).contains(".at-" + 500L * ENTRY, ".damaged");
                assertThat(Files.size(files.get(0))).isEqualTo(500L * ENTRY);
            }

            // the client that had seen 1..1000 does not resume at 1001 under reused sequences: it is told
            assertThatThrownBy(() -> following.closed().get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(StoreChangedException.class);
            assertThat(seen).hasSize(1000);

            // meanwhile a fresh client is served: appends go on from the recovered end, the consumer was moved back
            try (WirebusClient fresh = connect(second)) {
                assertThat(acked(fresh, "exec")).isEqualTo(500);
                assertThat(fresh.publish("blocks", payload(0)).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(501L);
                assertThat(fresh.fetch("other", 1, 100).get(10, TimeUnit.SECONDS).messages()).hasSize(10);
            }
        } finally {
            resumer.close();
        }

        // the cut was dealt with once: the next start keeps the new store id
        SimpleMeterRegistry meters3 = new SimpleMeterRegistry();
        try (Broker third = Broker.start(disk(meters3).build())) {
            assertThat(third.storeId()).isEqualTo(secondStoreId);
            assertThat(third.lastSequence("blocks")).isEqualTo(501);
            assertThat(meters3.get("wirebus.storage.epoch.changes").functionCounter().count()).isZero();
        }
    }

    @Test
    void aCleanRestartAndATornUnsyncedTailKeepTheStoreId() throws Exception {
        long id;
        try (Broker broker = Broker.start(disk(new SimpleMeterRegistry()).build());
             WirebusClient c = connect(broker)) {
            for (int i = 1; i <= 20; i++) {
                c.publish("blocks", payload(i)).get(10, TimeUnit.SECONDS);
            }
            id = broker.storeId();
        }
        // a crash mid-write leaves a torn entry after everything that was acknowledged
        Path segment = dir.resolve("data/streams/blocks/00000000000000000001.log");
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xB1, 0, 0, 0, 0, 0, 0, 1, 0}));
        }
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (Broker broker = Broker.start(disk(meters).build())) {
            assertThat(broker.storeId()).isEqualTo(id);
            assertThat(broker.lastSequence("blocks")).isEqualTo(20);
            assertThat(meters.get("wirebus.storage.epoch.changes").functionCounter().count()).isZero();
            // the torn bytes are still kept aside
            assertThat(meters.get("wirebus.storage.quarantined.files").functionCounter().count()).isEqualTo(1);
        }
    }

    private static long acked(WirebusClient c, String consumer) throws Exception {
        for (ConsumerInfo info : c.consumers("blocks").get(10, TimeUnit.SECONDS).consumers()) {
            if (info.name().equals(consumer)) {
                return info.ackedSequence();
            }
        }
        return -1;
    }
}
