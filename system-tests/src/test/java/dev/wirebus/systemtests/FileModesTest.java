package dev.wirebus.systemtests;

import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.server.Broker;
import dev.wirebus.server.BrokerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 11, item 8: the data directory's files are 0600 and its directories 0700 by default; configurable. */
class FileModesTest {
    @TempDir
    Path dir;

    private void useBroker(BrokerConfig.Builder config) throws Exception {
        try (Broker broker = Broker.start(config.unixSocket(dir.resolve("w.sock")).storage(BrokerConfig.Storage.DISK)
                .segmentBytes(4096).build());
             WirebusClient c = WirebusClient.builder().address("unix://" + broker.unixSocket()).connect()) {
            for (int i = 0; i < 100; i++) { // several segments (rolls write producer-free snapshots too)
                c.publish("s", ("message " + i).getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
            }
            Subscription sub = c.subscribe("s", SubscribeOptions.builder().consumer("c")
                    .ackMode(SubscribeOptions.AckMode.EXPLICIT).build(), m -> { });
            sub.started().get(10, TimeUnit.SECONDS);
            sub.ack(5).get(10, TimeUnit.SECONDS);
        }
    }

    private static List<Path> all(Path root) throws Exception {
        try (Stream<Path> paths = Files.walk(root)) {
            return paths.toList();
        }
    }

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void dataFilesAre0600AndDirectories0700ByDefault() throws Exception {
        Path data = dir.resolve("data");
        useBroker(BrokerConfig.builder().dataDirectory(data));
        List<Path> paths = all(data);
        assertThat(paths).anyMatch(p -> p.toString().endsWith(".log")).anyMatch(p -> p.toString().endsWith(".idx"))
                .anyMatch(p -> p.toString().endsWith("visible.mark")).anyMatch(p -> p.toString().endsWith("consumers/s.pos"))
                .anyMatch(p -> p.toString().endsWith("store.id"));
        for (Path p : paths) {
            assertThat(mode(p)).as(p.toString()).isEqualTo(Files.isDirectory(p) ? "rwx------" : "rw-------");
        }
    }

    @Test
    void theModesAreConfigurableAndAppliedToAnExistingDataDirectory() throws Exception {
        Path data = dir.resolve("shared");
        useBroker(BrokerConfig.builder().dataDirectory(data));
        // a restart with wider modes applies them to the directories and the segments it opens, and to new files
        useBroker(BrokerConfig.builder().dataDirectory(data).fileMode("rw-r-----").directoryMode("rwxr-x---"));
        assertThat(mode(data)).isEqualTo("rwxr-x---");
        assertThat(mode(data.resolve("streams"))).isEqualTo("rwxr-x---");
        assertThat(mode(data.resolve("streams/s"))).isEqualTo("rwxr-x---");
        assertThat(mode(data.resolve("streams/s/00000000000000000001.log"))).isEqualTo("rw-r-----");
        assertThat(mode(data.resolve("consumers/s.pos"))).isEqualTo("rw-r-----");
    }
}
