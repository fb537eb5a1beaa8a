package dev.wirebus.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Translates {@link Frame}s to and from their byte layout (big-endian throughout):
 *
 * <pre>
 * frame  = length:u32 type:u8 flags:u8 requestId:u64 body
 * length = number of bytes after the length field (10 + body)
 * string = byteLength:u16 utf8Bytes
 * </pre>
 *
 * <p>Stateless and thread-safe. {@link FrameDecoder} and {@link FrameEncoder} put it in a Netty
 * pipeline.
 *
 * <pre>{@code
 * ByteBuf out = FrameCodec.encode(new Frame.Ping(7), ByteBufAllocator.DEFAULT);
 * Frame back = FrameCodec.decode(out.skipBytes(FrameCodec.LENGTH_FIELD_LENGTH));
 * }</pre>
 */
public final class FrameCodec {
    /** Highest protocol version this implementation speaks. */
    public static final int PROTOCOL_VERSION = 2;
    /** Lowest protocol version this implementation speaks. */
    public static final int MIN_PROTOCOL_VERSION = 1;
    /**
     * The connection's negotiated protocol version, set by each side once WELCOME is sent or read;
     * {@link FrameEncoder} and {@link FrameDecoder} encode and decode by it (version 1 while unset).
     */
    public static final io.netty.util.AttributeKey<Integer> VERSION =
            io.netty.util.AttributeKey.valueOf(FrameCodec.class, "version");
    /** Bytes of the length prefix. */
    public static final int LENGTH_FIELD_LENGTH = 4;
    /** Bytes after the length prefix that every frame has: type, flags, request id. */
    public static final int HEADER_LENGTH = 10;
    /** The maximum frame length (the value of the length field) a broker accepts unless configured. */
    public static final int DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;
    /** Longest string field, in UTF-8 bytes. */
    public static final int MAX_STRING_BYTES = 65_535;

    private static final int ZERO_COPY_THRESHOLD = 2048;

    /** The channel's negotiated protocol version ({@link #VERSION}), or 1 before the handshake set it. */
    public static int version(io.netty.channel.Channel channel) {
        Integer v = channel.attr(VERSION).get();
        return v == null ? MIN_PROTOCOL_VERSION : v;
    }

    private FrameCodec() {
    }

    /** Encodes a frame as version 1 does, length prefix included, into a new buffer from {@code alloc}. */
    public static ByteBuf encode(Frame frame, ByteBufAllocator alloc) {
        return encode(frame, alloc, MIN_PROTOCOL_VERSION);
    }

    /** Encodes a frame in the format of protocol {@code version}, into a new buffer from {@code alloc}. */
    public static ByteBuf encode(Frame frame, ByteBufAllocator alloc, int version) {
        RecordBatch records = recordsOf(frame);
        if (records != null && records.sizeInBytes() >= ZERO_COPY_THRESHOLD) {
            // Large batches are sent from the batch's own memory: header copied, records wrapped.
            ByteBuf header = alloc.buffer(96);
            writeHeaderAndFields(frame, header, records.sizeInBytes());
            CompositeByteBuf composite = alloc.compositeBuffer(2);
            composite.addComponents(true, header, records.wrap(0, records.count()));
            return composite;
        }
        ByteBuf out = alloc.buffer(estimateSize(frame));
        encode(frame, out, version);
        return out;
    }

    /** Appends a frame as version 1 does, length prefix included, to {@code out}. */
    public static void encode(Frame frame, ByteBuf out) {
        encode(frame, out, MIN_PROTOCOL_VERSION);
    }

    /** Appends a frame in the format of protocol {@code version}, length prefix included, to {@code out}. */
    public static void encode(Frame frame, ByteBuf out, int version) {
        RecordBatch records = recordsOf(frame);
        if (records != null) {
            writeHeaderAndFields(frame, out, records.sizeInBytes());
            records.writeTo(out, 0, records.count());
            return;
        }
        int start = out.writerIndex();
        out.writeInt(0);
        out.writeByte(frame.type().code());
        out.writeByte(frame instanceof Frame.PublishAck a && a.duplicate() ? Frame.PublishAck.FLAG_DUPLICATE : 0);
        out.writeLong(frame.requestId());
        switch (frame.type()) {
            case HELLO -> {
                Frame.Hello f = (Frame.Hello) frame;
                out.writeInt(Frame.Hello.MAGIC);
                out.writeShort(f.minVersion());
                out.writeShort(f.maxVersion());
                writeString(out, f.clientName());
            }
            case WELCOME -> {
                Frame.Welcome f = (Frame.Welcome) frame;
                out.writeShort(f.version());
                out.writeInt(f.maxFrameLength());
                out.writeLong(f.storeId());
                writeString(out, f.serverName());
            }
            case PING, PONG, OK -> { }
            case GOAWAY -> {
                Frame.GoAway f = (Frame.GoAway) frame;
                out.writeShort(f.code());
                writeString(out, f.message());
            }
            case ERROR -> {
                Frame.Error f = (Frame.Error) frame;
                out.writeShort(f.code());
                writeString(out, f.message());
                if (version >= 2) {
                    writeFields(out, f.fields());
                }
            }
            case PUBLISH -> {
                Frame.Publish f = (Frame.Publish) frame;
                writeString(out, f.stream());
                out.writeLong(f.expectedSequence());
                out.writeBytes(f.payload());
            }
            case PUBLISH_ACK -> {
                Frame.PublishAck f = (Frame.PublishAck) frame;
                out.writeLong(f.firstSequence());
                out.writeInt(f.count());
            }
            case SUBSCRIBE -> {
                Frame.Subscribe f = (Frame.Subscribe) frame;
                out.writeInt(f.subscriptionId());
                writeString(out, f.stream());
                out.writeByte(f.startKind().code());
                out.writeLong(f.startSequence());
                out.writeInt(f.credits());
            }
            case SUBSCRIBED -> {
                Frame.Subscribed f = (Frame.Subscribed) frame;
                out.writeInt(f.subscriptionId());
                out.writeLong(f.startSequence());
            }
            case CREDIT -> {
                Frame.Credit f = (Frame.Credit) frame;
                out.writeInt(f.subscriptionId());
                out.writeInt(f.credits());
            }
            case UNSUBSCRIBE -> out.writeInt(((Frame.Unsubscribe) frame).subscriptionId());
            case SUBSCRIPTION_CLOSED -> {
                Frame.SubscriptionClosed f = (Frame.SubscriptionClosed) frame;
                out.writeInt(f.subscriptionId());
                out.writeShort(f.code());
                writeString(out, f.message());
                if (version >= 2) {
                    writeFields(out, f.fields());
                }
            }
            case REQUEST -> {
                Frame.Request f = (Frame.Request) frame;
                writeString(out, f.subject());
                out.writeInt(f.timeoutMillis());
                out.writeBytes(f.payload());
            }
            case RESPONSE -> out.writeBytes(((Frame.Response) frame).payload());
            case RESPOND_ON -> writeString(out, ((Frame.RespondOn) frame).subject());
            case RESPOND_OFF -> writeString(out, ((Frame.RespondOff) frame).subject());
            case CONSUME -> {
                Frame.Consume f = (Frame.Consume) frame;
                out.writeInt(f.subscriptionId());
                writeString(out, f.stream());
                writeString(out, f.consumer());
                out.writeByte(f.startKind().code());
                out.writeLong(f.startSequence());
                out.writeInt(f.credits());
                out.writeByte(f.ackMode());
                out.writeInt(f.maxLag());
                out.writeByte(f.resume() ? 1 : 0);
            }
            case ACK -> {
                Frame.Ack f = (Frame.Ack) frame;
                out.writeInt(f.subscriptionId());
                out.writeLong(f.sequence());
            }
            case CONSUMERS -> writeString(out, ((Frame.Consumers) frame).stream());
            case FETCH -> {
                Frame.Fetch f = (Frame.Fetch) frame;
                writeString(out, f.stream());
                out.writeLong(f.fromSequence());
                out.writeInt(f.maxMessages());
            }
            case CONSUMER_LIST -> {
                Frame.ConsumerList f = (Frame.ConsumerList) frame;
                out.writeLong(f.lastSequence());
                out.writeInt(f.heldPublishes());
                out.writeLong(f.heldMillis());
                out.writeLong(f.rejectedPublishes());
                out.writeInt(f.consumers().size());
                for (Frame.ConsumerInfo c : f.consumers()) {
                    writeString(out, c.name());
                    out.writeLong(c.ackedSequence());
                    out.writeInt(c.maxLag());
                    out.writeByte(c.connected() ? 1 : 0);
                }
            }
            case AUTH -> {
                Frame.Auth f = (Frame.Auth) frame;
                writeString(out, f.mechanism());
                out.writeInt(f.credential().length);
                out.writeBytes(f.credential());
            }
            case AUTH_OK -> {
                Frame.AuthOk f = (Frame.AuthOk) frame;
                writeString(out, f.principal());
                out.writeLong(f.expiresAtMillis());
            }
            case STREAMS -> {
                Frame.Streams f = (Frame.Streams) frame;
                writeString(out, f.after());
                out.writeInt(f.max());
            }
            case STREAM_LIST -> {
                Frame.StreamList f = (Frame.StreamList) frame;
                out.writeInt(f.streams().size());
                for (Frame.StreamInfo i : f.streams()) {
                    writeString(out, i.name());
                    out.writeLong(i.firstSequence());
                    out.writeLong(i.lastSequence());
                    out.writeLong(i.bytes());
                    out.writeInt(i.consumers());
                }
                out.writeByte(f.more() ? 1 : 0);
            }
            case DELETE_STREAM -> writeString(out, ((Frame.DeleteStream) frame).stream());
            case TRIM_STREAM -> {
                Frame.TrimStream f = (Frame.TrimStream) frame;
                writeString(out, f.stream());
                out.writeLong(f.beforeSequence());
            }
            case DELETE_CONSUMER -> {
                Frame.DeleteConsumer f = (Frame.DeleteConsumer) frame;
                writeString(out, f.stream());
                writeString(out, f.consumer());
            }
            case PUBLISH_BATCH, PUBLISH_IDEMPOTENT, DELIVER, FETCHED -> throw new AssertionError("handled above");
        }
        out.setInt(start, out.writerIndex() - start - LENGTH_FIELD_LENGTH);
    }

    /**
     * Writes the length, header and fixed fields of a DELIVER frame whose {@code count} records,
     * {@code recordBytes} bytes in all, the caller appends next in their wire layout (for example
     * with {@link RecordBatch#writeTo}). Lets a broker deliver records from several stored batches
     * in one frame without building an intermediate batch.
     */
    public static void writeDeliverHeader(ByteBuf out, int subscriptionId, String stream, long firstSequence,
                                          int count, int recordBytes) {
        int start = out.writerIndex();
        out.writeInt(0);
        out.writeByte(FrameType.DELIVER.code());
        out.writeByte(0);
        out.writeLong(0);
        out.writeInt(subscriptionId);
        writeString(out, stream);
        out.writeLong(firstSequence);
        out.writeInt(count);
        out.setInt(start, out.writerIndex() - start - LENGTH_FIELD_LENGTH + recordBytes);
    }

    /**
     * Writes the length, header and fixed fields of a FETCHED frame whose {@code count} records,
     * {@code recordBytes} bytes in all, the caller appends next, as for {@link #writeDeliverHeader}.
     */
    public static void writeFetchedHeader(ByteBuf out, long requestId, long lastSequence, long firstSequence,
                                          int count, int recordBytes) {
        int start = out.writerIndex();
        out.writeInt(0);
        out.writeByte(FrameType.FETCHED.code());
        out.writeByte(0);
        out.writeLong(requestId);
        out.writeLong(lastSequence);
        out.writeLong(firstSequence);
        out.writeInt(count);
        out.setInt(start, out.writerIndex() - start - LENGTH_FIELD_LENGTH + recordBytes);
    }

    private static RecordBatch recordsOf(Frame frame) {
        if (frame instanceof Frame.PublishBatch b) {
            return b.records();
        }
        if (frame instanceof Frame.PublishIdempotent b) {
            return b.records();
        }
        if (frame instanceof Frame.Fetched b) {
            return b.records();
        }
        if (frame instanceof Frame.Deliver d) {
            return d.records();
        }
        return null;
    }

    /** Writes length, header and the fixed fields of a batch-carrying frame; the records follow. */
    private static void writeHeaderAndFields(Frame frame, ByteBuf out, int recordBytes) {
        int start = out.writerIndex();
        out.writeInt(0);
        out.writeByte(frame.type().code());
        out.writeByte(0);
        out.writeLong(frame.requestId());
        if (frame instanceof Frame.PublishBatch f) {
            writeString(out, f.stream());
            out.writeLong(f.expectedSequence());
            out.writeInt(f.records().count());
        } else if (frame instanceof Frame.PublishIdempotent f) {
            writeString(out, f.stream());
            out.writeLong(f.expectedSequence());
            writeString(out, f.producerId());
            out.writeLong(f.producerSequence());
            out.writeInt(f.records().count());
        } else if (frame instanceof Frame.Fetched f) {
            out.writeLong(f.lastSequence());
            out.writeLong(f.firstSequence());
            out.writeInt(f.records().count());
        } else if (frame instanceof Frame.Deliver f) {
            out.writeInt(f.subscriptionId());
            writeString(out, f.stream());
            out.writeLong(f.firstSequence());
            out.writeInt(f.records().count());
        }
        out.setInt(start, out.writerIndex() - start - LENGTH_FIELD_LENGTH + recordBytes);
    }

    private static int estimateSize(Frame frame) {
        int base = LENGTH_FIELD_LENGTH + HEADER_LENGTH + 32;
        if (frame instanceof Frame.Publish f) {
            return base + f.stream().length() * 3 + f.payload().length;
        }
        if (frame instanceof Frame.Request f) {
            return base + f.subject().length() * 3 + f.payload().length;
        }
        if (frame instanceof Frame.Response f) {
            return base + f.payload().length;
        }
        RecordBatch records = recordsOf(frame);
        return base + 256 + (records == null ? 0 : records.sizeInBytes());
    }

    /**
     * Decodes one frame from {@code in}, which holds exactly the bytes after the length prefix
     * (type, flags, request id, body). Consumes all of them.
     *
     * @throws ProtocolException naming the problem: {@link ErrorCode#UNKNOWN_FRAME_TYPE} for a type
     *     byte this version does not know, {@link ErrorCode#MALFORMED_FRAME} for fields that run past
     *     the end, trailing bytes, bad UTF-8 or out-of-range values
     */
    public static Frame decode(ByteBuf in) {
        return decode(in, MIN_PROTOCOL_VERSION);
    }

    /**
     * Decodes one frame in the format of protocol {@code version}; otherwise as {@link #decode(ByteBuf)}.
     */
    public static Frame decode(ByteBuf in, int version) {
        int length = in.readableBytes();
        if (length < HEADER_LENGTH) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, 0,
                    "frame length " + length + " is shorter than the " + HEADER_LENGTH + "-byte header");
        }
        int typeCode = in.readUnsignedByte();
        int flags = in.readUnsignedByte(); // meaningful for PUBLISH_ACK only; reserved elsewhere
        long requestId = in.readLong();
        FrameType type = FrameType.of(typeCode);
        if (type == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_FRAME_TYPE, requestId,
                    String.format("unknown frame type 0x%02x", typeCode));
        }
        Reader r = new Reader(in, type, requestId);
        Frame frame = switch (type) {
            case HELLO -> {
                int magic = r.i32("magic");
                if (magic != Frame.Hello.MAGIC) {
                    throw r.malformed(String.format("bad magic 0x%08x, expected 0x%08x (\"WBUS\")",
                            magic, Frame.Hello.MAGIC));
                }
                yield new Frame.Hello(requestId, r.u16("minVersion"), r.u16("maxVersion"), r.string("clientName"));
            }
            case WELCOME -> new Frame.Welcome(requestId, r.u16("version"), r.nonNegative("maxFrameLength"),
                    r.i64("storeId"), r.string("serverName"));
            case PING -> new Frame.Ping(requestId);
            case PONG -> new Frame.Pong(requestId);
            case OK -> new Frame.Ok(requestId);
            case GOAWAY -> new Frame.GoAway(requestId, r.u16("code"), r.string("message"));
            case ERROR -> new Frame.Error(requestId, r.u16("code"), r.string("message"),
                    version >= 2 ? r.fields() : ErrorFields.NONE);
            case PUBLISH -> new Frame.Publish(requestId, r.string("stream"), r.i64("expectedSequence"), r.rest());
            case PUBLISH_BATCH -> {
                String stream = r.string("stream");
                long expected = r.i64("expectedSequence");
                long count = r.u32("count");
                yield new Frame.PublishBatch(requestId, stream, expected, RecordBatch.read(in, count, requestId));
            }
            case PUBLISH_ACK -> new Frame.PublishAck(requestId, r.i64("firstSequence"), r.nonNegative("count"),
                    (flags & Frame.PublishAck.FLAG_DUPLICATE) != 0);
            case PUBLISH_IDEMPOTENT -> {
                String stream = r.string("stream");
                long expected = r.i64("expectedSequence");
                String producer = r.string("producerId");
                long producerSequence = r.i64("producerSequence");
                long count = r.u32("count");
                yield new Frame.PublishIdempotent(requestId, stream, expected, producer, producerSequence,
                        RecordBatch.read(in, count, requestId));
            }
            case FETCH -> new Frame.Fetch(requestId, r.string("stream"), r.i64("fromSequence"),
                    r.nonNegative("maxMessages"));
            case FETCHED -> {
                long last = r.i64("lastSequence");
                long first = r.i64("firstSequence");
                long count = r.u32("count");
                yield new Frame.Fetched(requestId, last, first, RecordBatch.read(in, count, requestId));
            }
            case SUBSCRIBE -> {
                int subId = r.i32("subscriptionId");
                String stream = r.string("stream");
                int kindCode = r.u8("startKind");
                Frame.StartKind kind = Frame.StartKind.of(kindCode);
                if (kind == null) {
                    throw r.malformed("startKind " + kindCode + " is not 0 (earliest), 1 (latest) or 2 (sequence)");
                }
                yield new Frame.Subscribe(requestId, subId, stream, kind, r.i64("startSequence"),
                        r.nonNegative("credits"));
            }
            case SUBSCRIBED -> new Frame.Subscribed(requestId, r.i32("subscriptionId"), r.i64("startSequence"));
            case DELIVER -> {
                int subId = r.i32("subscriptionId");
                String stream = r.string("stream");
                long first = r.i64("firstSequence");
                long count = r.u32("count");
                yield new Frame.Deliver(requestId, subId, stream, first, RecordBatch.read(in, count, requestId));
            }
            case CREDIT -> new Frame.Credit(requestId, r.i32("subscriptionId"), r.nonNegative("credits"));
            case UNSUBSCRIBE -> new Frame.Unsubscribe(requestId, r.i32("subscriptionId"));
            case SUBSCRIPTION_CLOSED -> new Frame.SubscriptionClosed(requestId, r.i32("subscriptionId"),
                    r.u16("code"), r.string("message"), version >= 2 ? r.fields() : ErrorFields.NONE);
            case REQUEST -> new Frame.Request(requestId, r.string("subject"), r.nonNegative("timeoutMillis"),
                    r.rest());
            case RESPONSE -> new Frame.Response(requestId, r.rest());
            case RESPOND_ON -> new Frame.RespondOn(requestId, r.string("subject"));
            case RESPOND_OFF -> new Frame.RespondOff(requestId, r.string("subject"));
            case CONSUME -> {
                int subId = r.i32("subscriptionId");
                String stream = r.string("stream");
                String consumer = r.string("consumer");
                int kindCode = r.u8("startKind");
                Frame.StartKind kind = Frame.StartKind.of(kindCode);
                if (kind == null) {
                    throw r.malformed("startKind " + kindCode + " is not 0 (earliest), 1 (latest) or 2 (sequence)");
                }
                long start = r.i64("startSequence");
                int credits = r.nonNegative("credits");
                int ackMode = r.u8("ackMode");
                if (ackMode > 1) {
                    throw r.malformed("ackMode " + ackMode + " is not 0 (on delivery) or 1 (explicit)");
                }
                int maxLag = r.nonNegative("maxLag");
                int resume = r.u8("resume");
                if (resume > 1) {
                    throw r.malformed("resume " + resume + " is not 0 or 1");
                }
                yield new Frame.Consume(requestId, subId, stream, consumer, kind, start, credits, ackMode, maxLag,
                        resume == 1);
            }
            case ACK -> new Frame.Ack(requestId, r.i32("subscriptionId"), r.i64("sequence"));
            case AUTH -> {
                String mechanism = r.string("mechanism");
                int n = r.nonNegative("credential.length");
                yield new Frame.Auth(requestId, mechanism, r.bytes(n, "credential"));
            }
            case AUTH_OK -> new Frame.AuthOk(requestId, r.string("principal"), r.i64("expiresAtMillis"));
            case STREAMS -> new Frame.Streams(requestId, r.string("after"), r.nonNegative("max"));
            case STREAM_LIST -> {
                long n = r.u32("count");
                if (n > in.readableBytes() / 30) {
                    throw r.malformed("stream count " + n + " cannot fit in " + in.readableBytes() + " bytes");
                }
                java.util.List<Frame.StreamInfo> list = new java.util.ArrayList<>((int) n);
                for (int i = 0; i < n; i++) {
                    list.add(new Frame.StreamInfo(r.string("name"), r.i64("firstSequence"), r.i64("lastSequence"),
                            r.i64("bytes"), r.nonNegative("consumers")));
                }
                int more = r.u8("more");
                if (more > 1) {
                    throw r.malformed("more " + more + " is not 0 or 1");
                }
                yield new Frame.StreamList(requestId, java.util.List.copyOf(list), more == 1);
            }
            case DELETE_STREAM -> new Frame.DeleteStream(requestId, r.string("stream"));
            case TRIM_STREAM -> new Frame.TrimStream(requestId, r.string("stream"), r.i64("beforeSequence"));
            case DELETE_CONSUMER -> new Frame.DeleteConsumer(requestId, r.string("stream"), r.string("consumer"));
            case CONSUMERS -> new Frame.Consumers(requestId, r.string("stream"));
            case CONSUMER_LIST -> {
                long last = r.i64("lastSequence");
                int heldNow = r.nonNegative("heldPublishes");
                long heldMillis = r.i64("heldMillis");
                long rejected = r.i64("rejectedPublishes");
                long n = r.u32("count");
                if (n > in.readableBytes() / 15) {
                    throw r.malformed("consumer count " + n + " cannot fit in " + in.readableBytes() + " bytes");
                }
                java.util.List<Frame.ConsumerInfo> list = new java.util.ArrayList<>((int) n);
                for (int i = 0; i < n; i++) {
                    String name = r.string("name");
                    long acked = r.i64("ackedSequence");
                    int maxLag = r.nonNegative("maxLag");
                    int connected = r.u8("connected");
                    list.add(new Frame.ConsumerInfo(name, acked, maxLag, connected == 1));
                }
                yield new Frame.ConsumerList(requestId, last, heldNow, heldMillis, rejected, java.util.List.copyOf(list));
            }
        };
        if (in.isReadable()) {
            throw r.malformed(in.readableBytes() + " unexpected bytes after the last field");
        }
        return frame;
    }

    /** Version 2 error fields: count, then each (key, value) in ascending key order. */
    private static void writeFields(ByteBuf out, ErrorFields fields) {
        int[] keys = fields.keys();
        out.writeByte(keys.length);
        for (int k : keys) {
            out.writeByte(k);
            out.writeLong(fields.get(k).getAsLong());
        }
    }

    private static void writeString(ByteBuf out, String s) {
        int lengthAt = out.writerIndex();
        out.writeShort(0);
        int n = out.writeCharSequence(s, StandardCharsets.UTF_8);
        if (n > MAX_STRING_BYTES) {
            throw new IllegalArgumentException("string of " + n + " UTF-8 bytes exceeds " + MAX_STRING_BYTES);
        }
        out.setShort(lengthAt, n);
    }

    /** Reads fields of one frame, turning every shortfall into a MALFORMED_FRAME naming the field. */
    private static final class Reader {
        private final ByteBuf in;
        private final FrameType type;
        private final long requestId;

        Reader(ByteBuf in, FrameType type, long requestId) {
            this.in = in;
            this.type = type;
            this.requestId = requestId;
        }

        ProtocolException malformed(String what) {
            return new ProtocolException(ErrorCode.MALFORMED_FRAME, requestId, type + " frame: " + what);
        }

        private void need(int n, String field) {
            if (in.readableBytes() < n) {
                throw malformed("truncated at field '" + field + "': needs " + n + " bytes, "
                        + in.readableBytes() + " remain");
            }
        }

        int u8(String field) {
            need(1, field);
            return in.readUnsignedByte();
        }

        int u16(String field) {
            need(2, field);
            return in.readUnsignedShort();
        }

        int i32(String field) {
            need(4, field);
            return in.readInt();
        }

        long u32(String field) {
            need(4, field);
            return in.readUnsignedInt();
        }

        int nonNegative(String field) {
            long v = u32(field);
            if (v > Integer.MAX_VALUE) {
                throw malformed("field '" + field + "' is " + v + ", above the maximum " + Integer.MAX_VALUE);
            }
            return (int) v;
        }

        long i64(String field) {
            need(8, field);
            long v = in.readLong();
            if (v < 0) {
                throw malformed("field '" + field + "' is negative: " + v);
            }
            return v;
        }

        String string(String field) {
            int len = u16(field + ".length");
            need(len, field);
            String s = decodeUtf8(in, len);
            if (s == null) {
                throw malformed("field '" + field + "' is not valid UTF-8");
            }
            return s;
        }

        /** Version 2: fieldCount u8, then fieldCount (key u8, value u63); unknown keys skipped, a repeated key malformed. */
        ErrorFields fields() {
            int n = u8("fieldCount");
            ErrorFields fields = ErrorFields.NONE;
            boolean[] seen = new boolean[256];
            for (int i = 0; i < n; i++) {
                int key = u8("field key");
                long value = i64("field value");
                if (seen[key]) {
                    throw malformed("error field key " + key + " appears twice");
                }
                seen[key] = true;
                if (key >= 1 && key <= ErrorFields.MAX_KNOWN_KEY) {
                    fields = fields.with(key, value);
                }
            }
            return fields;
        }

        byte[] bytes(int n, String field) {
            need(n, field);
            byte[] b = new byte[n];
            in.readBytes(b);
            return b;
        }

        byte[] rest() {
            byte[] b = new byte[in.readableBytes()];
            in.readBytes(b);
            return b;
        }
    }

    private static String decodeUtf8(ByteBuf in, int len) {
        boolean ascii = true;
        int start = in.readerIndex();
        for (int i = 0; i < len; i++) {
            if (in.getByte(start + i) < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            String s = in.toString(start, len, StandardCharsets.US_ASCII);
            in.skipBytes(len);
            return s;
        }
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(in.nioBuffer(start, len)).toString();
            in.skipBytes(len);
            return s;
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
