package dev.wirebus.systemtests;

import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.testing.EmbeddedBroker;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Protocol version 2 against a real broker over TCP: the negotiation, the typed error fields the
 * broker fills, the Java client's view of them, and the answers docs/protocol.md pins down (FETCH
 * with maxMessages 0, request id 0, no frame above the announced maximum).
 */
class ProtocolVersionTwoTest {
    private static final EmbeddedBroker.Transport TCP = EmbeddedBroker.Transport.TCP;
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void brokerChoosesTheHighestVersionBothSpeak() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            int[][] offers = {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}, {1, 9, 2}, {2, 7, 2}};
            for (int[] o : offers) {
                try (RawConnection c = RawConnection.open(broker, TCP)) {
                    c.send(new Frame.Hello(1, o[0], o[1], "v"));
                    Frame w = c.read(WAIT);
                    assertThat(w).as("HELLO %d..%d", o[0], o[1]).isInstanceOf(Frame.Welcome.class);
                    assertThat(((Frame.Welcome) w).version()).as("HELLO %d..%d", o[0], o[1]).isEqualTo(o[2]);
                }
            }
            try (RawConnection c = RawConnection.open(broker, TCP)) {
                c.send(new Frame.Hello(1, 3, 4, "future"));
                Frame e = c.read(WAIT); // before a version is agreed, the ERROR is in version 1 format
                assertThat(e).isInstanceOf(Frame.Error.class);
                assertThat(((Frame.Error) e).code()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION.code());
                assertThat(((Frame.Error) e).requestId()).isEqualTo(1);
                assertThat(c.closedByPeer(WAIT)).isTrue();
            }
        }
    }

    @Test
    void sequenceMismatchCarriesTheLastSequenceInVersionTwoOnly() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             RawConnection v2 = RawConnection.handshaken(broker, TCP, 2);
             RawConnection v1 = RawConnection.handshaken(broker, TCP, 1)) {
            assertThat(v2.version()).isEqualTo(2);
            assertThat(v1.version()).isEqualTo(1);
            for (int i = 0; i < 3; i++) {
                v2.send(new Frame.Publish(10 + i, "s", 0, utf8("m" + i)));
                assertThat(v2.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            }
            v2.send(new Frame.Publish(20, "s", 9, utf8("late")));
            Frame.Error e2 = (Frame.Error) v2.read(WAIT);
            assertThat(e2.code()).isEqualTo(ErrorCode.SEQUENCE_MISMATCH.code());
            assertThat(e2.fields().lastSequence()).hasValue(3);
            assertThat(e2.fields().size()).isEqualTo(1);

            // the same error on a version 1 connection: no fields on the wire (else it would not decode as v1)
            v1.send(new Frame.Publish(21, "s", 9, utf8("late")));
            Frame.Error e1 = (Frame.Error) v1.read(WAIT);
            assertThat(e1.code()).isEqualTo(ErrorCode.SEQUENCE_MISMATCH.code());
            assertThat(e1.fields()).isEqualTo(ErrorFields.NONE);
            assertThat(e1.message()).contains("last sequence 3");
        }
    }

    @Test
    void notRetainedAndProducerSequenceCarryTheirFields() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.retentionMessages(10));
             RawConnection c = RawConnection.handshaken(broker, TCP, 2)) {
            for (int i = 1; i <= 50; i++) {
                c.send(new Frame.Publish(i, "r", 0, utf8("m" + i)));
                assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            }
            c.send(new Frame.Subscribe(100, 1, "r", Frame.StartKind.EARLIEST, 0, 0));
            long firstRetained = ((Frame.Subscribed) c.read(WAIT)).startSequence();
            assertThat(firstRetained).isGreaterThan(1);

            c.send(new Frame.Fetch(101, "r", 1, 10));
            Frame.Error fetch = (Frame.Error) c.read(WAIT);
            assertThat(fetch.code()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED.code());
            assertThat(fetch.fields().firstRetainedSequence()).hasValue(firstRetained);

            c.send(new Frame.Subscribe(102, 2, "r", Frame.StartKind.SEQUENCE, 1, 10));
            Frame.Error sub = (Frame.Error) c.read(WAIT);
            assertThat(sub.code()).isEqualTo(ErrorCode.SEQUENCE_NOT_RETAINED.code());
            assertThat(sub.fields().firstRetainedSequence()).hasValue(firstRetained);

            c.send(new Frame.PublishIdempotent(103, "p", 0, "prod", 7, RecordBatch.of(List.of(utf8("a")))));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            c.send(new Frame.PublishIdempotent(104, "p", 0, "prod", 5, RecordBatch.of(List.of(utf8("b")))));
            Frame.Error producer = (Frame.Error) c.read(WAIT);
            assertThat(producer.code()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE.code());
            assertThat(producer.fields().lastProducerSequence()).hasValue(7);
        }
    }

    @Test
    void backpressureCarriesRetryAfter() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             RawConnection responder = RawConnection.handshaken(broker, TCP, 2);
             RawConnection requester = RawConnection.handshaken(broker, TCP, 2)) {
            responder.send(new Frame.RespondOn(1, "slow"));
            assertThat(responder.read(WAIT)).isInstanceOf(Frame.Ok.class);
            // the responder never answers: requests pile up until the broker refuses more
            Frame.Error refused = null;
            for (int i = 1; i <= 20_000 && refused == null; i++) {
                requester.send(new Frame.Request(i, "slow", 60_000, new byte[64]));
                if (i % 1000 == 0 || i > 9_990) {
                    requester.send(new Frame.Ping(1_000_000 + i));
                    Frame f;
                    while (!((f = requester.read(WAIT)) instanceof Frame.Pong)) {
                        if (f instanceof Frame.Error e && e.code() == ErrorCode.BACKPRESSURE.code()) {
                            refused = e;
                        }
                    }
                }
            }
            assertThat(refused).as("a BACKPRESSURE error").isNotNull();
            assertThat(refused.fields().retryAfterMillis()).isPresent();
            assertThat(refused.fields().retryAfterMillis().getAsLong()).isPositive();
        }
    }

    @Test
    void javaClientNegotiatesVersionTwoAndExposesTheFields() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             WirebusClient client = broker.client(TCP).name("v2").connect()) {
            assertThat(client.protocolVersion()).isEqualTo(2);
            client.publish("c", utf8("one")).get(10, TimeUnit.SECONDS);
            var lastOnly = client.fetch("c", 1, 0).get(10, TimeUnit.SECONDS);
            assertThat(lastOnly.messages()).isEmpty();
            assertThat(lastOnly.lastSequence()).isEqualTo(1);
            assertThatThrownBy(() -> client.publish("c", utf8("x"), 5).join())
                    .isInstanceOf(CompletionException.class)
                    .cause().isInstanceOfSatisfying(SequenceMismatchException.class, e -> {
                        assertThat(e.lastSequence()).isEqualTo(1);
                        assertThat(e.fields().lastSequence()).hasValue(1);
                    });
            client.publish("c", utf8("p"), PublishOptions.builder().producer("prod", 4).build())
                    .get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> client.publish("c", utf8("q"),
                    PublishOptions.builder().producer("prod", 2).build()).join())
                    .cause().isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE);
                        assertThat(e.fields().lastProducerSequence()).hasValue(4);
                        assertThat(e.lastProducerSequence()).hasValue(4);
                    });
        }
    }

    @Test
    void fetchOfZeroMessagesReturnsNoneAndTheLastSequence() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start();
             RawConnection c = RawConnection.handshaken(broker, TCP, 2)) {
            for (int i = 1; i <= 5; i++) {
                c.send(new Frame.Publish(i, "f", 0, utf8("m" + i)));
                assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            }
            c.send(new Frame.Fetch(10, "f", 1, 0));
            Frame.Fetched none = (Frame.Fetched) c.read(WAIT);
            assertThat(none.records().count()).isZero();
            assertThat(none.lastSequence()).isEqualTo(5);
            assertThat(none.firstSequence()).isEqualTo(1);

            c.send(new Frame.Fetch(11, "f", 0, 10));
            Frame.Error zero = (Frame.Error) c.read(WAIT);
            assertThat(zero.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT.code());
            assertThat(zero.requestId()).isEqualTo(11);
        }
    }

    @Test
    void aRequestWithRequestIdZeroIsRefusedAndClosesTheConnectionWithNothingDone() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start()) {
            try (RawConnection c = RawConnection.handshaken(broker, TCP, 2)) {
                c.send(new Frame.Publish(0, "z", 0, utf8("never")));
                Frame.Error e = (Frame.Error) c.read(WAIT);
                assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT.code());
                assertThat(e.requestId()).isZero();
                assertThat(c.closedByPeer(WAIT)).isTrue();
            }
            try (RawConnection c = RawConnection.open(broker, TCP)) {
                c.send(new Frame.Hello(0, 1, 2, "zero"));
                Frame.Error e = (Frame.Error) c.read(WAIT);
                assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT.code());
                assertThat(c.closedByPeer(WAIT)).isTrue();
            }
            try (RawConnection c = RawConnection.handshaken(broker, TCP, 2)) {
                c.send(new Frame.Hello(0, 1, 2, "again"));
                Frame.Error e = (Frame.Error) c.read(WAIT);
                assertThat(e.code()).as("a second HELLO, whatever its id").isEqualTo(ErrorCode.HANDSHAKE_REQUIRED.code());
                assertThat(c.closedByPeer(WAIT)).isTrue();
            }
            try (RawConnection c = RawConnection.handshaken(broker, TCP, 2)) {
                // an ACK with request id 0 is one-way, not refused
                c.send(new Frame.Ack(0, 77, 1));
                c.send(new Frame.Fetch(5, "z", 1, 0));
                Frame.Fetched f = (Frame.Fetched) c.read(WAIT);
                assertThat(f.lastSequence()).as("the PUBLISH with id 0 appended nothing").isZero();
            }
        }
    }

    @Test
    void noFrameExceedsTheAnnouncedMaximumEvenForABatchOfExactlyThatLength() throws Exception {
        int max = 64 * 1024;
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.maxFrameLength(max));
             RawConnection c = RawConnection.handshaken(broker, TCP, 2)) {
            // PUBLISH_BATCH frame length = 10 + (2+1) + 8 + 4 + records; records of 1000 bytes + 4 prefix
            int fixed = 10 + 3 + 8 + 4;
            List<byte[]> payloads = new ArrayList<>();
            int left = max - fixed;
            int n = 0;
            while (left >= 4 + 1000 + 4 + 1000) {
                payloads.add(filled(1000, n++));
                left -= 1004;
            }
            payloads.add(filled(left - 4, n)); // the last record makes the frame exactly max
            RecordBatch batch = RecordBatch.of(payloads);
            assertThat(fixed + batch.sizeInBytes()).isEqualTo(max);
            c.send(new Frame.PublishBatch(1, "b", 0, batch));
            Frame.PublishAck ack = (Frame.PublishAck) c.read(WAIT);
            assertThat(ack.count()).isEqualTo(payloads.size());
            // and one record of the largest message size the broker accepts
            int largest = max - 512;
            c.send(new Frame.Publish(2, "b", 0, filled(largest, 99)));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.PublishAck.class);
            payloads.add(filled(largest, 99));

            c.send(new Frame.Subscribe(3, 1, "b", Frame.StartKind.EARLIEST, 0, 100_000));
            assertThat(c.read(WAIT)).isInstanceOf(Frame.Subscribed.class);
            List<byte[]> delivered = new ArrayList<>();
            long next = 1;
            while (delivered.size() < payloads.size()) {
                Frame.Deliver d = (Frame.Deliver) c.read(WAIT);
                assertThat(c.lastLength()).as("DELIVER length").isLessThanOrEqualTo(max);
                assertThat(d.firstSequence()).isEqualTo(next);
                for (int i = 0; i < d.records().count(); i++) {
                    delivered.add(d.records().payload(i));
                }
                next += d.records().count();
            }
            assertThat(delivered).containsExactlyElementsOf(payloads);

            List<byte[]> fetched = new ArrayList<>();
            long from = 1;
            while (fetched.size() < payloads.size()) {
                c.send(new Frame.Fetch(10 + from, "b", from, 10_000));
                Frame.Fetched f = (Frame.Fetched) c.read(WAIT);
                assertThat(c.lastLength()).as("FETCHED length").isLessThanOrEqualTo(max);
                assertThat(f.records().count()).isPositive();
                for (int i = 0; i < f.records().count(); i++) {
                    fetched.add(f.records().payload(i));
                }
                from += f.records().count();
            }
            assertThat(fetched).containsExactlyElementsOf(payloads);
        }
    }

    @Test
    void aResponderFailureWithALongMessageStillReachesTheRequester() throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(b -> b.maxFrameLength(70_000));
             RawConnection responder = RawConnection.handshaken(broker, TCP, 2);
             RawConnection requester = RawConnection.handshaken(broker, TCP, 2)) {
            responder.send(new Frame.RespondOn(1, "q"));
            assertThat(responder.read(WAIT)).isInstanceOf(Frame.Ok.class);
            requester.send(new Frame.Request(5, "q", 10_000, utf8("?")));
            Frame.Request forwarded = (Frame.Request) responder.read(WAIT);
            // the longest message a string holds: with the broker's prefix it would not fit in one
            responder.send(new Frame.Error(forwarded.requestId(), ErrorCode.INTERNAL, "x".repeat(65_535)));
            Frame.Error failed = (Frame.Error) requester.read(WAIT);
            assertThat(failed.code()).isEqualTo(ErrorCode.RESPONDER_FAILED.code());
            assertThat(failed.requestId()).isEqualTo(5);
            assertThat(failed.message()).startsWith("responder on subject 'q' failed: xxx");
            assertThat(failed.message().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(900);
        }
    }

    private static byte[] filled(int size, int seed) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return b;
    }
}
