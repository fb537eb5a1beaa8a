package dev.wirebus.systemtests;

import dev.wirebus.client.Message;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 11, item 4: a broker always restarts on its own data directory, even one holding more
 * streams than its process may open files (before the open-file budget, 11,000 streams held two
 * descriptors each and the broker could not start on them).
 */
class FdLimitRestartTest {
    @TempDir
    Path dir;

    @Test
    void aBrokerRestartsOnMoreStreamsThanItsFileDescriptorLimitAllows() throws Exception {
        int streams = 160; // 480 files (segment, index, visible mark each); 320 before the marks
        Path data = dir.resolve("data");
        try (Broker broker = Broker.start(BrokerConfig.builder().unixSocket(dir.resolve("a.sock"))
                .storage(BrokerConfig.Storage.DISK).dataDirectory(data).durability(BrokerConfig.Durability.NEVER)
                .maxOpenFiles(64).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket())
                     .requestTimeout(java.time.Duration.ofSeconds(60)).connect()) {
            // creating a stream costs a few fsyncs (its directory, first segment): slow on a busy disk
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                acks.add(c.publish("s" + i, ("m" + i).getBytes(StandardCharsets.UTF_8)).thenApply(dev.wirebus.client.PublishAck::firstSequence));
            }
            for (CompletableFuture<Long> a : acks) {
                assertThat(a.get(90, TimeUnit.SECONDS)).isEqualTo(1L);
            }
        }
        Path socket = dir.resolve("b.sock");
        Path errors = dir.resolve("broker.err");
        // 256 descriptors for the whole JVM (jars, sockets, epoll) and 160 streams
        try (BrokerProcess process = BrokerProcess.startWithFdLimit(socket, data, errors, 256, 64);
             WirebusClient c = WirebusClient.builder().address("unix://" + socket).connect()) {
            for (int i = 0; i < streams; i += 7) {
                assertThat(c.fetch("s" + i, 1, 10).get(10, TimeUnit.SECONDS).messages())
                        .extracting(Message::payloadAsString).containsExactly("m" + i);
                assertThat(c.publish("s" + i, "again".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS).firstSequence())
                        .isEqualTo(2L);
            }
            assertThat(c.publish("a-new-one", "x".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS).firstSequence())
                    .isEqualTo(1L);
        }
        assertThat(Files.readString(errors)).doesNotContain("Too many open files");
    }
}
