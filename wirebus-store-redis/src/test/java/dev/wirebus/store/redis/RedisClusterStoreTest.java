package dev.wirebus.store.redis;

import dev.wirebus.client.Message;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.protocol.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Brokers on a Redis Cluster of three masters started here ({@code redis-cli --cluster create}). */
class RedisClusterStoreTest {
    @TempDir
    Path dir;
    final List<RedisServer> masters = new ArrayList<>();

    @BeforeEach
    void startCluster() throws Exception {
        RedisServer.binary();
        List<String> addresses = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Path d = dir.resolve("m" + i);
            RedisServer m = RedisServer.startOn(d, clusterPort(), "--cluster-enabled", "yes", "--cluster-config-file",
                    d.resolve("nodes.conf").toString(), "--cluster-node-timeout", "2000");
            masters.add(m);
            addresses.add("127.0.0.1:" + m.port());
        }
        List<String> create = new ArrayList<>(List.of("redis-cli", "--cluster", "create"));
        create.addAll(addresses);
        create.addAll(List.of("--cluster-replicas", "0", "--cluster-yes"));
        Process p = new ProcessBuilder(create).redirectErrorStream(true)
                .redirectOutput(dir.resolve("create.out").toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(Files.readString(dir.resolve("create.out"))).isZero();
        for (RedisServer m : masters) {
            await().atMost(Duration.ofSeconds(30)).until(() -> m.commandBulk("CLUSTER", "INFO").contains("cluster_state:ok"));
        }
    }

    /** A port whose cluster bus port (+10000) is free too. */
    private static int clusterPort() throws IOException {
        while (true) {
            int port = RedisServer.freePort();
            if (port + 10000 > 65535) {
                continue;
            }
            try (ServerSocket bus = new ServerSocket(port + 10000)) {
                return port;
            } catch (IOException busy) {
                // try another
            }
        }
    }

    @AfterEach
    void stopCluster() throws Exception {
        for (RedisServer m : masters) {
            m.close();
        }
    }

    private String uri() {
        return "redis-cluster://" + String.join(",", masters.stream().map(m -> "127.0.0.1:" + m.port()).toList());
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void streamsOnEveryMasterAreSharedByTwoBrokersWithOneSequenceSpaceEach() throws Exception {
        try (Nodes nodes = Nodes.start(2, uri())) {
            List<String> streams = List.of("orders", "chat.room-1", "blocks", "audit", "jobs:7", "metrics");
            // a stream's keys share one slot; the streams spread over the masters
            Set<String> slots = new HashSet<>();
            for (String s : streams) {
                Set<String> ofStream = new HashSet<>();
                for (String k : nodes.stores.get(0).keys(s)) {
                    ofStream.add(masters.get(0).command("CLUSTER", "KEYSLOT", k));
                }
                assertThat(ofStream).as("slots of the keys of %s", s).hasSize(1);
                slots.addAll(ofStream);
            }
            assertThat(slots).hasSizeGreaterThan(1);
            Map<String, List<Message>> onB = new ConcurrentHashMap<>();
            for (String s : streams) {
                List<Message> got = new CopyOnWriteArrayList<>();
                onB.put(s, got);
                nodes.client(1).subscribe(s, StartPosition.earliest(), got::add).started().get(10, TimeUnit.SECONDS);
            }
            for (String s : streams) {
                for (int i = 1; i <= 20; i++) {
                    assertThat(nodes.client(0).publish(s, utf8(s + i)).get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(i);
                }
            }
            for (String s : streams) {
                await().atMost(Duration.ofSeconds(20)).until(() -> onB.get(s).size() >= 20);
                assertThat(onB.get(s)).extracting(Message::sequence)
                        .isEqualTo(java.util.stream.LongStream.rangeClosed(1, 20).boxed().toList());
                assertThat(onB.get(s).get(19).payloadAsString()).isEqualTo(s + 20);
            }
            // expected sequences from both brokers at once: each sequence won once
            Map<Long, String> winners = new ConcurrentHashMap<>();
            List<CompletableFuture<Void>> racers = new ArrayList<>();
            for (int p = 0; p < 2; p++) {
                int who = p;
                racers.add(CompletableFuture.runAsync(() -> {
                    for (long seq = 21; seq <= 80; seq++) {
                        try {
                            nodes.client(who).publish("orders", utf8("r" + who), seq).get(20, TimeUnit.SECONDS);
                            assertThat(winners.putIfAbsent(seq, "r" + who)).isNull();
                        } catch (ExecutionException e) {
                            assertThat(e.getCause()).isInstanceOf(SequenceMismatchException.class);
                        } catch (Exception e) {
                            throw new AssertionError(e);
                        }
                    }
                }));
            }
            CompletableFuture.allOf(racers.toArray(new CompletableFuture[0])).get(60, TimeUnit.SECONDS);
            assertThat(winners).hasSize(60);
            // an idempotent producer resending through the other broker
            PublishOptions once = PublishOptions.builder().producer("exec", 1).build();
            PublishAck first = nodes.client(0).publish("blocks", utf8("b"), once).get(10, TimeUnit.SECONDS);
            assertThat(nodes.client(1).publish("blocks", utf8("b"), once).get(10, TimeUnit.SECONDS))
                    .isEqualTo(new PublishAck(first.firstSequence(), 1, true));
        }
    }

    @Test
    void aStreamIsDeletedForBothBrokersThoughTheSetAndTheStoreIdSitInOtherSlots() throws Exception {
        try (Nodes nodes = Nodes.start(2, uri())) {
            String slot = masters.get(0).command("CLUSTER", "KEYSLOT", nodes.stores.get(0).keys("blocks")[0]);
            assertThat(masters.get(0).command("CLUSTER", "KEYSLOT", "wirebus:streams")).isNotEqualTo(slot);
            assertThat(masters.get(0).command("CLUSTER", "KEYSLOT", "wirebus:store-id")).isNotEqualTo(slot);
            for (int i = 1; i <= 5; i++) {
                nodes.client(0).publish("blocks", utf8("old" + i)).get(10, TimeUnit.SECONDS);
            }
            List<Message> onB = new CopyOnWriteArrayList<>();
            Subscription sub = nodes.client(1).subscribe("blocks", StartPosition.earliest(), onB::add);
            await().atMost(Duration.ofSeconds(20)).until(() -> onB.size() == 5);
            long epoch = nodes.stores.get(1).storeId();

            nodes.client(0).deleteStream("blocks").get(10, TimeUnit.SECONDS);

            assertThatThrownBy(() -> sub.closed().get(20, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ServerRefusedException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.NOT_FOUND));
            long fresh = nodes.stores.get(0).storeId();
            assertThat(fresh).isNotEqualTo(epoch);
            await().atMost(Duration.ofSeconds(20)).until(() -> nodes.stores.get(1).storeId() == fresh);
            assertThat(nodes.client(1).publish("blocks", utf8("new1")).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(1);
            List<Message> fresh1 = new CopyOnWriteArrayList<>();
            nodes.client(1).subscribe("blocks", StartPosition.earliest(), fresh1::add).started().get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(20)).until(() -> !fresh1.isEmpty());
            assertThat(fresh1).extracting(Message::payloadAsString).containsExactly("new1");
        }
    }
}
