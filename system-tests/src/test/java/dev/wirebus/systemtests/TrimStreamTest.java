package dev.wirebus.systemtests;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertError;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * TRIM_STREAM drops records below a sequence as far as the store's granularity allows (each
 * batch in memory, whole 4 KiB segments on disk here), never one at or above it; reads below the
 * new first sequence are SEQUENCE_NOT_RETAINED. Access control is off here: SeedRolesContract
 * shows that only ADMIN may send it.
 */
class TrimStreamTest {
    @TempDir
    Path data;

    @ParameterizedTest
    @EnumSource(BrokerConfig.Storage.class)
    void trimsBelowTheSequenceAndNeverAtOrAboveIt(BrokerConfig.Storage storage) throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.storage(storage).dataDirectory(data)
                .segmentBytes(4096));
             RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            for (int i = 1; i <= 20; i++) {
                c.send(new Frame.Publish(i, "log", 0, new byte[1000]));
                assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            }
            c.send(new Frame.TrimStream(100, "log", 10));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Ok.class);

            c.send(new Frame.Streams(101, "", 10));
            Frame.StreamInfo info = ((Frame.StreamList) c.read(WAIT)).streams().get(0);
            assertThat(info.firstSequence()).isGreaterThan(1).isLessThanOrEqualTo(10);
            if (storage == BrokerConfig.Storage.MEMORY) {
                assertThat(info.firstSequence()).isEqualTo(10);
            }
            assertThat(info.lastSequence()).isEqualTo(20);

            c.send(new Frame.Fetch(102, "log", 1, 1));
            assertError(c.read(WAIT), ErrorCode.SEQUENCE_NOT_RETAINED);
            c.send(new Frame.Fetch(103, "log", 10, 11));
            Frame.Fetched fetched = (Frame.Fetched) c.read(WAIT);
            assertThat(fetched.records().count()).isEqualTo(11);

            c.send(new Frame.TrimStream(104, "missing", 10));
            assertError(c.read(WAIT), ErrorCode.NOT_FOUND);
        }
    }
}
