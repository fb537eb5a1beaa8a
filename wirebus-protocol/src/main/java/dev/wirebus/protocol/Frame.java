package dev.wirebus.protocol;

/**
 * One wirebus protocol frame. Each frame type is a record here; {@link FrameCodec} turns them into
 * bytes and back. {@code docs/protocol.md} specifies the byte layout of each.
 *
 * <p>Every frame carries a request id. A frame that expects an answer carries a non-zero id chosen
 * by its sender, and the answer (OK, ERROR, PUBLISH_ACK, SUBSCRIBED, WELCOME, PONG, RESPONSE)
 * carries the same id; frames that expect no answer (DELIVER, CREDIT, GOAWAY,
 * SUBSCRIPTION_CLOSED) carry 0. Any number of callers can therefore share one connection.
 *
 * <pre>{@code
 * Frame f = new Frame.Publish(42, "blocks", Frame.NO_EXPECTED_SEQUENCE, payload);
 * ByteBuf bytes = FrameCodec.encode(f, ByteBufAllocator.DEFAULT);
 * }</pre>
 */
public sealed interface Frame {
    /** Wire value of {@code expectedSequence} meaning "append wherever the stream is". */
    long NO_EXPECTED_SEQUENCE = 0;

    /** The frame's type. */
    FrameType type();

    /** The request id this frame carries (0 when it expects no answer and answers nothing). */
    long requestId();

    /** Client's first frame: magic, the range of protocol versions it speaks, and its name. */
    record Hello(long requestId, int minVersion, int maxVersion, String clientName) implements Frame {
        /** "WBUS" in ASCII, the first four body bytes of every HELLO. */
        public static final int MAGIC = 0x57425553;

        public FrameType type() {
            return FrameType.HELLO;
        }
    }

    /**
     * Broker's answer to HELLO: the chosen version, the largest frame it accepts, the id of the
     * store its streams live in, and its name. A client that reconnects and finds another store id
     * knows the streams' history is not the one it read (an in-memory broker restarted), so it must
     * not resume subscriptions by sequence.
     */
    record Welcome(long requestId, int version, int maxFrameLength, long storeId, String serverName)
            implements Frame {
        public FrameType type() {
            return FrameType.WELCOME;
        }
    }

    /** Liveness probe; answered by PONG with the same id. Either side may send it. */
    record Ping(long requestId) implements Frame {
        public FrameType type() {
            return FrameType.PING;
        }
    }

    /** Answer to PING. */
    record Pong(long requestId) implements Frame {
        public FrameType type() {
            return FrameType.PONG;
        }
    }

    /** The broker is about to close the connection on purpose; reconnect elsewhere or later. */
    record GoAway(long requestId, int code, String message) implements Frame {
        public FrameType type() {
            return FrameType.GOAWAY;
        }
    }

    /**
     * A request failed (or, with request id 0, the connection failed) for the reason given.
     * {@code fields} are the typed numbers of protocol version 2 (never null; on a version 1
     * connection they are not sent, and decode as {@link ErrorFields#NONE}).
     */
    record Error(long requestId, int code, String message, ErrorFields fields) implements Frame {
        public Error {
            fields = fields == null ? ErrorFields.NONE : fields;
        }

        public Error(long requestId, int code, String message) {
            this(requestId, code, message, ErrorFields.NONE);
        }

        public Error(long requestId, ErrorCode code, String message) {
            this(requestId, code.code(), message, ErrorFields.NONE);
        }

        public Error(long requestId, ErrorCode code, String message, ErrorFields fields) {
            this(requestId, code.code(), message, fields);
        }

        public FrameType type() {
            return FrameType.ERROR;
        }
    }

    /** A request that has no other result succeeded. */
    record Ok(long requestId) implements Frame {
        public FrameType type() {
            return FrameType.OK;
        }
    }

    /**
     * Append one message to a stream. {@code expectedSequence} other than 0 makes the append
     * conditional: it happens only if that is exactly the stream's last sequence + 1.
     */
    record Publish(long requestId, String stream, long expectedSequence, byte[] payload) implements Frame {
        public FrameType type() {
            return FrameType.PUBLISH;
        }
    }

    /**
     * Append several messages to a stream, atomically and contiguously. With an expected sequence,
     * it applies to the first record.
     */
    record PublishBatch(long requestId, String stream, long expectedSequence, RecordBatch records)
            implements Frame {
        public FrameType type() {
            return FrameType.PUBLISH_BATCH;
        }
    }

    /**
     * Append a producer's batch at most once. {@code producerSequence} (at least 1) numbers the
     * producer's batches in increasing order; a batch whose producer sequence the stream already
     * appended is not appended again but acknowledged with its original sequences and
     * {@link PublishAck#duplicate()} set, also after a broker restart. With an expected sequence,
     * it applies to the first record, as for {@link PublishBatch}.
     */
    record PublishIdempotent(long requestId, String stream, long expectedSequence, String producerId,
                             long producerSequence, RecordBatch records) implements Frame {
        public FrameType type() {
            return FrameType.PUBLISH_IDEMPOTENT;
        }
    }

    /**
     * A publish was appended at sequences {@code [firstSequence, firstSequence + count)}. On the
     * wire {@code duplicate} is bit 0 of the frame's flags: the batch of an idempotent publish had
     * been appended before, and these are its original sequences.
     */
    record PublishAck(long requestId, long firstSequence, int count, boolean duplicate) implements Frame {
        /** Flags bit marking a duplicate. */
        public static final int FLAG_DUPLICATE = 0x01;

        public PublishAck(long requestId, long firstSequence, int count) {
            this(requestId, firstSequence, count, false);
        }

        public FrameType type() {
            return FrameType.PUBLISH_ACK;
        }
    }

    /**
     * Read up to {@code maxMessages} records of a stream from {@code fromSequence} at once, without
     * subscribing: a page of history. Answered with {@link Fetched} or an ERROR
     * ({@code SEQUENCE_NOT_RETAINED} below the retained range).
     */
    record Fetch(long requestId, String stream, long fromSequence, int maxMessages) implements Frame {
        public FrameType type() {
            return FrameType.FETCH;
        }
    }

    /**
     * The records a FETCH found, starting at {@code firstSequence} (the sequence asked for), and the
     * stream's last sequence when it was read; an empty batch when nothing is at or after it yet.
     */
    record Fetched(long requestId, long lastSequence, long firstSequence, RecordBatch records) implements Frame {
        public FrameType type() {
            return FrameType.FETCHED;
        }
    }

    /** How a subscription chooses its first sequence. */
    enum StartKind {
        /** The first sequence the stream retains. */
        EARLIEST(0),
        /** The sequence after the stream's last one at the moment of subscribing: only new messages. */
        LATEST(1),
        /** A given sequence. */
        SEQUENCE(2);

        private final int code;

        StartKind(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** The kind for a wire byte, or {@code null}. */
        public static StartKind of(int code) {
            return switch (code) {
                case 0 -> EARLIEST;
                case 1 -> LATEST;
                case 2 -> SEQUENCE;
                default -> null;
            };
        }
    }

    /**
     * Open a cursor over a stream's log. {@code subscriptionId} is chosen by the client and names
     * the subscription in DELIVER, CREDIT, UNSUBSCRIBE and SUBSCRIPTION_CLOSED frames;
     * {@code credits} is how many messages the broker may send before the next CREDIT.
     */
    record Subscribe(long requestId, int subscriptionId, String stream, StartKind startKind, long startSequence,
                     int credits) implements Frame {
        public FrameType type() {
            return FrameType.SUBSCRIBE;
        }
    }

    /** The subscription is open; the first message it will deliver has {@code startSequence}. */
    record Subscribed(long requestId, int subscriptionId, long startSequence) implements Frame {
        public FrameType type() {
            return FrameType.SUBSCRIBED;
        }
    }

    /** Messages {@code [firstSequence, firstSequence + records.count())} of a stream for a subscription. */
    record Deliver(long requestId, int subscriptionId, String stream, long firstSequence, RecordBatch records)
            implements Frame {
        public FrameType type() {
            return FrameType.DELIVER;
        }
    }

    /** The client grants a subscription {@code credits} more messages. */
    record Credit(long requestId, int subscriptionId, int credits) implements Frame {
        public FrameType type() {
            return FrameType.CREDIT;
        }
    }

    /** Close a subscription; answered by OK. */
    record Unsubscribe(long requestId, int subscriptionId) implements Frame {
        public FrameType type() {
            return FrameType.UNSUBSCRIBE;
        }
    }

    /**
     * The broker ended a subscription for the reason given (e.g. it fell below retention), with the
     * typed fields of protocol version 2 as in {@link Error}.
     */
    record SubscriptionClosed(long requestId, int subscriptionId, int code, String message, ErrorFields fields)
            implements Frame {
        public SubscriptionClosed {
            fields = fields == null ? ErrorFields.NONE : fields;
        }

        public SubscriptionClosed(long requestId, int subscriptionId, int code, String message) {
            this(requestId, subscriptionId, code, message, ErrorFields.NONE);
        }

        public FrameType type() {
            return FrameType.SUBSCRIPTION_CLOSED;
        }
    }

    /**
     * Open a subscription as durable consumer {@code consumer} of a stream. The broker keeps the
     * consumer's acknowledged position: a new consumer starts where {@code startKind} says, an
     * existing one at its acknowledged sequence + 1, unless {@code resume} is set, which starts
     * at {@code startSequence} (a client resuming after a reconnect). {@code ackMode} 0 advances the
     * position as messages are delivered, 1 only on ACK frames. {@code maxLag} other than 0 gates
     * the stream: while its last sequence minus this consumer's acknowledged one is at least
     * {@code maxLag}, publishes wait. Answered by SUBSCRIBED.
     */
    record Consume(long requestId, int subscriptionId, String stream, String consumer, StartKind startKind,
                   long startSequence, int credits, int ackMode, int maxLag, boolean resume) implements Frame {
        /** Position advances as messages are delivered. */
        public static final int ACK_ON_DELIVERY = 0;
        /** Position advances on ACK frames only. */
        public static final int ACK_EXPLICIT = 1;

        public FrameType type() {
            return FrameType.CONSUME;
        }
    }

    /**
     * Acknowledges every message of a consumer subscription up to and including {@code sequence}.
     * With a request id other than 0, answered by OK once the position is stored durably.
     */
    record Ack(long requestId, int subscriptionId, long sequence) implements Frame {
        public FrameType type() {
            return FrameType.ACK;
        }
    }

    /** Asks for a stream's durable consumers; answered by CONSUMER_LIST. */
    record Consumers(long requestId, String stream) implements Frame {
        public FrameType type() {
            return FrameType.CONSUMERS;
        }
    }

    /** One durable consumer in a CONSUMER_LIST. */
    record ConsumerInfo(String name, long ackedSequence, int maxLag, boolean connected) {
    }

    /**
     * A stream's last sequence, its gate (publishes held now, milliseconds publishes spent held in
     * all, publishes refused because they waited too long or too many were held), and its durable
     * consumers.
     */
    record ConsumerList(long requestId, long lastSequence, int heldPublishes, long heldMillis, long rejectedPublishes,
                        java.util.List<ConsumerInfo> consumers) implements Frame {
        public FrameType type() {
            return FrameType.CONSUMER_LIST;
        }
    }

    /**
     * A request on a subject, with how long the requester will wait. Sent by a requester to the
     * broker, and by the broker to one responder (with the broker's own request id and the time
     * that remains).
     */
    record Request(long requestId, String subject, int timeoutMillis, byte[] payload) implements Frame {
        public FrameType type() {
            return FrameType.REQUEST;
        }
    }

    /** The answer to a REQUEST, with the id of the REQUEST it answers. */
    record Response(long requestId, byte[] payload) implements Frame {
        public FrameType type() {
            return FrameType.RESPONSE;
        }
    }

    /** Register this connection as a responder for a subject; answered by OK. */
    record RespondOn(long requestId, String subject) implements Frame {
        public FrameType type() {
            return FrameType.RESPOND_ON;
        }
    }

    /** Stop responding on a subject; answered by OK. */
    record RespondOff(long requestId, String subject) implements Frame {
        public FrameType type() {
            return FrameType.RESPOND_OFF;
        }
    }

    /**
     * Presents a credential; answered by AUTH_OK or ERROR {@code AUTH_FAILED} (which closes the
     * connection). {@code mechanism} "bearer" carries a static token or a JWT. May be sent again
     * later (a fresh token before the old one expires); each replaces the connection's principal.
     */
    record Auth(long requestId, String mechanism, byte[] credential) implements Frame {
        /** The one mechanism defined: a bearer token (static or JWT). */
        public static final String BEARER = "bearer";

        public FrameType type() {
            return FrameType.AUTH;
        }
    }

    /** The principal an AUTH established, and when its credential expires (epoch ms, 0 = never). */
    record AuthOk(long requestId, String principal, long expiresAtMillis) implements Frame {
        public FrameType type() {
            return FrameType.AUTH_OK;
        }
    }

    /**
     * Lists streams whose names sort after {@code after} ("" = from the first), at most {@code max}
     * (1..1000); answered by STREAM_LIST. Only streams the principal may administer are listed.
     */
    record Streams(long requestId, String after, int max) implements Frame {
        public FrameType type() {
            return FrameType.STREAMS;
        }
    }

    /** One stream in a STREAM_LIST: its retained range, bytes stored, and durable consumers. */
    record StreamInfo(String name, long firstSequence, long lastSequence, long bytes, int consumers) {
    }

    /** A page of streams, in name order; {@code more} when names after the last one exist. */
    record StreamList(long requestId, java.util.List<StreamInfo> streams, boolean more) implements Frame {
        public FrameType type() {
            return FrameType.STREAM_LIST;
        }
    }

    /** Deletes a stream, its records and its durable consumers; answered by OK (NOT_FOUND if absent). */
    record DeleteStream(long requestId, String stream) implements Frame {
        public FrameType type() {
            return FrameType.DELETE_STREAM;
        }
    }

    /**
     * Drops a stream's records below {@code beforeSequence} as far as the storage granularity
     * allows (never one at or above it); answered by OK.
     */
    record TrimStream(long requestId, String stream, long beforeSequence) implements Frame {
        public FrameType type() {
            return FrameType.TRIM_STREAM;
        }
    }

    /** Deletes a durable consumer of a stream; answered by OK (NOT_FOUND if absent). */
    record DeleteConsumer(long requestId, String stream, String consumer) implements Frame {
        public FrameType type() {
            return FrameType.DELETE_CONSUMER;
        }
    }
}
