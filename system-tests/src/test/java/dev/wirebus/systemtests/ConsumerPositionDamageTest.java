package dev.wirebus.systemtests;

import ch.qos.logback.classic.Level;
import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.Message;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Issue 11, item 7: a damaged {@code consumers/<stream>.pos} (empty, truncated, garbage) neither
 * stops the broker nor drops a consumer silently: the file and its damage are named, every
 * consumer comes back (from the sound records, else the previous good file), and it resumes.
 */
class ConsumerPositionDamageTest {
    enum Damage {
        EMPTY("empty"),
        TRUNCATED("truncated"),
        GARBAGE("not a positions file");

        final String named;

        Damage(String named) {
            this.named = named;
        }
    }

    @TempDir
    Path dir;

    private BrokerConfig.Builder disk(SimpleMeterRegistry meters) {
        return BrokerConfig.builder().unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .dataDirectory(dir.resolve("data")).durability(BrokerConfig.Durability.ALWAYS).meterRegistry(meters);
    }

    private static WirebusClient connect(Broker broker) {
        return WirebusClient.builder().address("unix://" + broker.unixSocket()).connect();
    }

    private static SubscribeOptions consumer(String name) {
        return SubscribeOptions.builder().consumer(name).ackMode(SubscribeOptions.AckMode.EXPLICIT).build();
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void aDamagedPositionFileIsNamedAndNoConsumerIsDropped(Damage damage) throws Exception {
        try (Broker broker = Broker.start(disk(new SimpleMeterRegistry()).build());
             WirebusClient c = connect(broker)) {
            for (int i = 1; i <= 10; i++) {
                c.publish("tail", ("m" + i).getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            }
            // each confirmed ack is a rewrite of the file: the one before is kept as the previous good one
            for (String name : List.of("c1", "c2")) {
                List<Message> got = new CopyOnWriteArrayList<>();
                Subscription s = c.subscribe("tail", consumer(name), got::add);
                await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 10);
                s.ack(3).get(10, TimeUnit.SECONDS);
                s.ack(6).get(10, TimeUnit.SECONDS);
                s.close();
            }
        }
        Path file = dir.resolve("data/consumers/tail.pos");
        assertThat(dir.resolve("data/consumers/tail.pos.prev")).exists();
        byte[] bytes = Files.readAllBytes(file);
        switch (damage) {
            case EMPTY -> Files.write(file, new byte[0]);
            case TRUNCATED -> Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
            case GARBAGE -> {
                byte[] junk = new byte[bytes.length];
                new java.util.Random(11).nextBytes(junk);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.write(ByteBuffer.wrap(junk), 0);
                    ch.force(true);
                }
            }
        }

        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (CapturedLog log = new CapturedLog();
             Broker broker = Broker.start(disk(meters).build());
             WirebusClient c = connect(broker)) {
            assertThat(log.atLeast(Level.ERROR)).anySatisfy(line -> assertThat(line)
                    .contains(file.toString(), "is damaged", damage.named));
            assertThat(meters.get("wirebus.storage.damaged.position.files").functionCounter().count()).isEqualTo(1);
            Map<String, Long> acked = c.consumers("tail").get(10, TimeUnit.SECONDS).consumers().stream()
                    .collect(Collectors.toMap(ConsumerInfo::name, ConsumerInfo::ackedSequence));
            // both consumers are back, at their last position or the one before it (then they see a few again)
            assertThat(acked).containsOnlyKeys("c1", "c2");
            assertThat(acked.values()).allSatisfy(a -> assertThat(a).isIn(3L, 6L));

            // and they resume from there while the stream is served
            List<Message> got = new CopyOnWriteArrayList<>();
            Subscription s = c.subscribe("tail", consumer("c1"), got::add);
            await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 10 - acked.get("c1"));
            assertThat(got.get(0).sequence()).isEqualTo(acked.get("c1") + 1);
            s.ack(10).get(10, TimeUnit.SECONDS);
            assertThat(c.publish("tail", "more".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(11L);
        }

        // the file written since is sound again
        SimpleMeterRegistry again = new SimpleMeterRegistry();
        try (Broker broker = Broker.start(disk(again).build());
             WirebusClient c = connect(broker)) {
            assertThat(again.get("wirebus.storage.damaged.position.files").functionCounter().count()).isZero();
            assertThat(c.consumers("tail").get(10, TimeUnit.SECONDS).consumers()).extracting(ConsumerInfo::name)
                    .containsExactlyInAnyOrder("c1", "c2");
        }
    }
}
