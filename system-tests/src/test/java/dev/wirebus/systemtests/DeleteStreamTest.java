package dev.wirebus.systemtests;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.server.BrokerConfig;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static dev.wirebus.systemtests.SecurityFixtures.WAIT;
import static dev.wirebus.systemtests.SecurityFixtures.assertError;
import static dev.wirebus.systemtests.SecurityFixtures.consume;
import static dev.wirebus.systemtests.SecurityFixtures.publish;
import static dev.wirebus.systemtests.SecurityFixtures.subscribe;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * DELETE_STREAM over TCP, on the memory and the disk store: OK then NOT_FOUND; max-streams counts
 * it no more; subscriptions (with and without credits) end with NOT_FOUND; a held publish fails
 * with NOT_FOUND; a later publish starts at sequence 1 in a new store epoch (WELCOME's storeId
 * changes); on disk the stream and its durable consumers stay gone after a restart. Access control
 * is off here: SeedRolesContract shows that only ADMIN may send it.
 */
class DeleteStreamTest {
    @TempDir
    Path data;

    private EmbeddedBroker start(BrokerConfig.Storage storage) {
        return storage == BrokerConfig.Storage.DISK
                ? EmbeddedBroker.start(b -> b.storage(storage).dataDirectory(data).maxStreams(2))
                : EmbeddedBroker.start(b -> b.storage(storage).maxStreams(2));
    }

    private static void assertClosed(Frame f, int subscriptionId, ErrorCode code) {
        assertThat(f).isInstanceOf(Frame.SubscriptionClosed.class);
        Frame.SubscriptionClosed closed = (Frame.SubscriptionClosed) f;
        assertThat(closed.subscriptionId()).isEqualTo(subscriptionId);
        assertThat(closed.code()).as(closed.message()).isEqualTo(code.code());
    }

    @ParameterizedTest
    @EnumSource(value = BrokerConfig.Storage.class, names = {"MEMORY", "DISK"})
    void deletesTheStreamEndsItsSubscriptionsAndStartsOverInANewEpoch(BrokerConfig.Storage storage) throws Exception {
        try (EmbeddedBroker broker = start(storage);
             RawConnection admin = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2);
             RawConnection reader = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            long epoch = admin.welcome().storeId();
            admin.send(publish(1, "blocks"));
            admin.send(publish(2, "blocks"));
            assertThat(((Frame.PublishAck) admin.read(WAIT)).firstSequence()).isEqualTo(1);
            assertThat(((Frame.PublishAck) admin.read(WAIT)).firstSequence()).isEqualTo(2);
            admin.send(publish(3, "other"));
            assertThat(admin.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            admin.send(publish(3, "third"));
            assertError(admin.read(WAIT), ErrorCode.STREAM_LIMIT);
            // a subscriber that read everything (it waits) and one without credits left (it does not read)
            reader.send(subscribe(1, 1, "blocks"));
            assertThat(reader.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            assertThat(((Frame.Deliver) reader.read(WAIT)).records().count()).isEqualTo(2);
            reader.send(new Frame.Subscribe(2, 2, "blocks", Frame.StartKind.EARLIEST, 0, 1));
            assertThat(reader.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            assertThat(((Frame.Deliver) reader.read(WAIT)).records().count()).isEqualTo(1);

            admin.send(new Frame.DeleteStream(4, "blocks"));
            assertThat(admin.read(WAIT)).isInstanceOf(Frame.Ok.class);
            Frame first = reader.read(WAIT);
            Frame second = reader.read(WAIT);
            int firstId = ((Frame.SubscriptionClosed) first).subscriptionId();
            assertClosed(first, firstId, ErrorCode.NOT_FOUND);
            assertClosed(second, 3 - firstId, ErrorCode.NOT_FOUND);

            admin.send(new Frame.DeleteStream(5, "blocks"));
            assertError(admin.read(WAIT), ErrorCode.NOT_FOUND);
            admin.send(new Frame.Streams(6, "", 10));
            assertThat(((Frame.StreamList) admin.read(WAIT)).streams()).extracting(Frame.StreamInfo::name)
                    .containsExactly("other");

            // the deleted stream no longer counts against max-streams 2: it is created again
            admin.send(publish(7, "blocks"));
            assertThat(((Frame.PublishAck) admin.read(WAIT)).firstSequence()).isEqualTo(1);
            try (RawConnection later = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
                assertThat(later.welcome().storeId()).as("a new epoch after the deletion").isNotEqualTo(epoch);
            }
        }
    }

    @Test
    void aHeldPublishFailsAndTheConsumerSubscriptionEndsWithNotFound() throws Exception {
        try (EmbeddedBroker broker = start(BrokerConfig.Storage.MEMORY);
             RawConnection admin = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2);
             RawConnection consumer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2);
             RawConnection producer = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            admin.send(publish(1, "blocks"));
            assertThat(admin.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            // a gating consumer allowed to lag by one record, which it does not acknowledge
            consumer.send(new Frame.Consume(1, 1, "blocks", "executor", Frame.StartKind.EARLIEST, 0, 100,
                    Frame.Consume.ACK_EXPLICIT, 1, false));
            assertThat(consumer.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            assertThat(consumer.read(WAIT)).isInstanceOf(Frame.Deliver.class);
            producer.send(publish(1, "blocks"));
            // the publish is held: CONSUMERS shows it before the deletion
            await().atMost(WAIT).until(() -> {
                admin.send(new Frame.Consumers(2, "blocks"));
                return ((Frame.ConsumerList) admin.read(WAIT)).heldPublishes() == 1;
            });

            admin.send(new Frame.DeleteStream(3, "blocks"));
            assertThat(admin.read(WAIT)).isInstanceOf(Frame.Ok.class);
            Frame held = producer.read(WAIT);
            assertError(held, ErrorCode.NOT_FOUND);
            assertThat(((Frame.Error) held).requestId()).isEqualTo(1);
            assertClosed(consumer.read(WAIT), 1, ErrorCode.NOT_FOUND);

            admin.send(new Frame.DeleteConsumer(4, "blocks", "executor"));
            assertError(admin.read(WAIT), ErrorCode.NOT_FOUND);
        }
    }

    @Test
    void onDiskTheStreamAndItsConsumersStayGoneAfterARestart() throws Exception {
        try (EmbeddedBroker broker = start(BrokerConfig.Storage.DISK);
             RawConnection c = RawConnection.handshaken(broker, EmbeddedBroker.Transport.TCP, 2)) {
            c.send(publish(1, "blocks"));
            c.send(publish(2, "blocks"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            c.send(consume(3, 1, "blocks", "executor"));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Deliver.class);
            c.send(new Frame.Ack(0, 1, 2));
            // the position is stored (the .pos file is written) before the deletion
            Path positions = data.resolve("consumers").resolve("blocks.pos");
            await().atMost(WAIT).until(() -> {
                c.send(new Frame.Consumers(4, "blocks"));
                Frame.ConsumerList list = (Frame.ConsumerList) c.read(WAIT);
                return list.consumers().get(0).ackedSequence() == 2 && Files.exists(positions);
            });

            c.send(new Frame.DeleteStream(5, "blocks"));
            Frame ok = c.read(WAIT);
            Frame closed = c.read(WAIT);
            if (ok instanceof Frame.SubscriptionClosed) {
                Frame t = ok;
                ok = closed;
                closed = t;
            }
            assertThat(ok).isInstanceOf(Frame.Ok.class);
            assertClosed(closed, 1, ErrorCode.NOT_FOUND);
            assertThat(data.resolve("streams").resolve("blocks")).doesNotExist();
            assertThat(positions).doesNotExist();
        }
        try (EmbeddedBroker again = start(BrokerConfig.Storage.DISK);
             RawConnection c = RawConnection.handshaken(again, EmbeddedBroker.Transport.TCP, 2)) {
            c.send(new Frame.Streams(1, "", 10));
            assertThat(((Frame.StreamList) c.read(WAIT)).streams()).isEmpty();
            c.send(new Frame.DeleteStream(2, "blocks"));
            assertError(c.read(WAIT), ErrorCode.NOT_FOUND);
            c.send(publish(3, "blocks"));
            assertThat(((Frame.PublishAck) c.read(WAIT)).firstSequence()).isEqualTo(1);
            c.send(new Frame.Consumers(4, "blocks"));
            Frame.ConsumerList list = (Frame.ConsumerList) c.read(WAIT);
            assertThat(list.lastSequence()).isEqualTo(1);
            assertThat(list.consumers()).isEmpty();
        }
    }
}
