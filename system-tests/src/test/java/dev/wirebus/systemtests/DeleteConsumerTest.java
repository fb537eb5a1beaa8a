package dev.wirebus.systemtests;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertError;
import static dev.wirebus.systemtests.SecurityFixtures.consume;
import static dev.wirebus.systemtests.SecurityFixtures.publish;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * DELETE_CONSUMER: refused while the consumer is attached, then forgets it (its position stays
 * gone after a restart of a disk store), NOT_FOUND for one that does not exist. Access control is
 * off here: SeedRolesContract shows that only ADMIN may send it.
 */
class DeleteConsumerTest {
    @TempDir
    Path data;

    private EmbeddedBroker start() {
        return EmbeddedBroker.start(b -> b.storage(BrokerConfig.Storage.DISK).dataDirectory(data));
    }

    @Test
    void deletesADetachedConsumerForGood() throws Exception {
        try (EmbeddedBroker broker = start();
             RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            c.send(publish(1, "blocks"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            c.send(consume(2, 1, "blocks", "executor"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Deliver.class);

            c.send(new Frame.DeleteConsumer(3, "blocks", "executor"));
            Frame attached = c.read(WAIT);
            assertError(attached, ErrorCode.INVALID_ARGUMENT);
            assertThat(((Frame.Error) attached).message()).contains("is attached");

            c.send(new Frame.Unsubscribe(4, 1));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Ok.class);
            c.send(new Frame.DeleteConsumer(5, "blocks", "executor"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Ok.class);
            c.send(new Frame.DeleteConsumer(6, "blocks", "executor"));
            assertError(c.read(WAIT), ErrorCode.NOT_FOUND);
            c.send(new Frame.Consumers(7, "blocks"));
            assertThat(((Frame.ConsumerList) c.read(WAIT)).consumers()).isEmpty();
        }
        try (EmbeddedBroker again = start();
             RawConnection c = RawConnection.handshaken(again, EmbeddedBroker.Transport.TCP, 2)) {
            c.send(new Frame.Consumers(1, "blocks"));
            Frame.ConsumerList list = (Frame.ConsumerList) c.read(WAIT);
            assertThat(list.lastSequence()).isEqualTo(1);
            assertThat(list.consumers()).isEmpty();
        }
    }
}
