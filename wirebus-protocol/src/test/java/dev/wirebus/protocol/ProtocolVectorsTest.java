package dev.wirebus.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Checks the codec against {@code docs/protocol-vectors.json}, the byte-exact contract of the
 * protocol: every frame vector in both directions, every malformed vector through a
 * {@link FrameDecoder}.
 */
class ProtocolVectorsTest {
    private static final HexFormat HEX = HexFormat.of();
    private static JsonNode vectors;

    @BeforeAll
    static void load() throws IOException {
        Path file = locate();
        vectors = new ObjectMapper().readTree(file.toFile());
    }

    /** The vectors live in the repository's docs/, one level above this module. */
    private static Path locate() {
        List<Path> tried = new ArrayList<>();
        for (String base : new String[] {System.getProperty("basedir"), System.getProperty("user.dir")}) {
            if (base == null) {
                continue;
            }
            Path candidate = Path.of(base).toAbsolutePath().resolve("../docs/protocol-vectors.json").normalize();
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
            tried.add(candidate);
        }
        throw new IllegalStateException("docs/protocol-vectors.json not found; run the tests from the "
                + "wirebus-protocol module directory (as Maven does). Tried: " + tried);
    }

    @Test
    void fileDescribesProtocolVersionAndDefaultMaximum() {
        assertThat(vectors.path("version").asInt()).isEqualTo(FrameCodec.PROTOCOL_VERSION);
        assertThat(vectors.path("maxFrameLength").asInt()).isEqualTo(FrameCodec.DEFAULT_MAX_FRAME_LENGTH);
    }

    @Test
    void everyFrameTypeHasAVectorThatEncodes() {
        Set<FrameType> covered = EnumSet.noneOf(FrameType.class);
        for (JsonNode v : vectors.path("frames")) {
            if (!v.path("decodeOnly").asBoolean(false)) {
                covered.add(FrameType.valueOf(v.path("type").asText()));
            }
        }
        assertThat(covered).containsExactlyInAnyOrder(FrameType.values());
    }

    @Test
    void namesAreUniqueAndMalformedVectorsNameRealErrorCodes() {
        List<String> names = new ArrayList<>();
        vectors.path("frames").forEach(v -> names.add(v.path("name").asText()));
        vectors.path("malformed").forEach(v -> {
            names.add(v.path("name").asText());
            assertThat(ErrorCode.valueOf(v.path("error").asText())).isNotEqualTo(ErrorCode.UNKNOWN);
        });
        assertThat(names).doesNotHaveDuplicates().doesNotContain("");
        assertThat(vectors.path("malformed").size()).isGreaterThanOrEqualTo(6);
    }

    @TestFactory
    Stream<DynamicTest> decodingHexGivesTheFields() {
        return frameVectors().map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
            byte[] wire = HEX.parseHex(v.path("hex").asText());
            assertThat(wire.length).as("at least length field and header").isGreaterThanOrEqualTo(14);
            ByteBuf buf = Unpooled.wrappedBuffer(wire);
            long length = buf.readUnsignedInt();
            assertThat(length).as("length field = bytes after it").isEqualTo(wire.length - 4L);
            Frame frame = FrameCodec.decode(buf, version(v));
            String name = v.path("name").asText();
            assertThat(frame.type().name()).as(name).isEqualTo(v.path("type").asText());
            assertThat(fieldsOf(frame, version(v))).as(name).isEqualTo(jsonFields(v.path("fields")));
        }));
    }

    @TestFactory
    Stream<DynamicTest> encodingTheFieldsGivesTheHex() {
        return frameVectors()
                .filter(v -> !v.path("decodeOnly").asBoolean(false))
                .map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
                    Frame frame = frameOf(FrameType.valueOf(v.path("type").asText()), v.path("fields"));
                    String expected = v.path("hex").asText();

                    ByteBuf appended = Unpooled.buffer();
                    FrameCodec.encode(frame, appended, version(v));
                    assertThat(ByteBufUtil.hexDump(appended)).as(v.path("name").asText()).isEqualTo(expected);
                    appended.release();

                    ByteBuf allocated = FrameCodec.encode(frame, ByteBufAllocator.DEFAULT, version(v));
                    assertThat(ByteBufUtil.hexDump(allocated)).as(v.path("name").asText()).isEqualTo(expected);
                    allocated.release();
                }));
    }

    @TestFactory
    Stream<DynamicTest> brokerDeliverHeaderWriterGivesTheHex() {
        return frameVectors()
                .filter(v -> v.path("type").asText().equals("DELIVER"))
                .map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
                    JsonNode f = v.path("fields");
                    assertThat(u64(f.path("requestId"))).as("DELIVER carries request id 0").isZero();
                    RecordBatch records = records(f.get("recordsHex"));
                    ByteBuf out = Unpooled.buffer();
                    FrameCodec.writeDeliverHeader(out, i32(f.get("subscriptionId")), str(f.get("stream")),
                            u64(f.get("firstSequence")), records.count(), records.sizeInBytes());
                    records.writeTo(out, 0, records.count());
                    assertThat(ByteBufUtil.hexDump(out)).as(v.path("name").asText()).isEqualTo(v.path("hex").asText());
                    out.release();
                }));
    }

    @TestFactory
    Stream<DynamicTest> brokerFetchedHeaderWriterGivesTheHex() {
        return frameVectors()
                .filter(v -> v.path("type").asText().equals("FETCHED"))
                .map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
                    JsonNode f = v.path("fields");
                    RecordBatch records = records(f.get("recordsHex"));
                    ByteBuf out = Unpooled.buffer();
                    FrameCodec.writeFetchedHeader(out, u64(f.get("requestId")), u64(f.get("lastSequence")),
                            u64(f.get("firstSequence")), records.count(), records.sizeInBytes());
                    records.writeTo(out, 0, records.count());
                    assertThat(ByteBufUtil.hexDump(out)).as(v.path("name").asText()).isEqualTo(v.path("hex").asText());
                    out.release();
                }));
    }

    @Test
    void duplicateFlagIsVectoredBothWays() {
        List<Boolean> seen = new ArrayList<>();
        frameVectors()
                .filter(v -> v.path("type").asText().equals("PUBLISH_ACK") && !v.path("decodeOnly").asBoolean(false))
                .forEach(v -> {
                    byte flags = HEX.parseHex(v.path("hex").asText())[5];
                    boolean duplicate = bool(v.path("fields").get("duplicate"));
                    assertThat(flags).as(v.path("name").asText()).isEqualTo((byte) (duplicate ? 0x01 : 0x00));
                    seen.add(duplicate);
                });
        assertThat(seen).contains(true, false);
    }

    @TestFactory
    Stream<DynamicTest> decoderPipelineAcceptsEveryFrameVector() {
        int max = vectors.path("maxFrameLength").asInt();
        return frameVectors().map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
            byte[] wire = HEX.parseHex(v.path("hex").asText());
            EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(max));
            ch.attr(FrameCodec.VERSION).set(version(v));
            try {
                // one byte at a time: the frame may arrive in any split
                for (byte b : wire) {
                    ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
                }
                Frame frame = ch.readInbound();
                assertThat(frame).as(v.path("name").asText()).isNotNull();
                assertThat(fieldsOf(frame, version(v))).as(v.path("name").asText())
                        .isEqualTo(jsonFields(v.path("fields")));
                assertThat((Object) ch.readInbound()).isNull();
            } finally {
                ch.finishAndReleaseAll();
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> malformedInputFailsWithItsErrorCode() {
        int max = vectors.path("maxFrameLength").asInt();
        return stream(vectors.path("malformed")).map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
            byte[] wire = HEX.parseHex(v.path("hex").asText());
            ErrorCode expected = ErrorCode.valueOf(v.path("error").asText());
            long requestId = v.path("requestId").asLong();
            FrameDecoder decoder = new FrameDecoder(max);
            EmbeddedChannel ch = new EmbeddedChannel(decoder);
            ch.attr(FrameCodec.VERSION).set(version(v));
            try {
                if (v.path("endOfInput").asBoolean(false)) {
                    // Nothing is wrong until the input ends in the middle of a frame.
                    ch.writeInbound(Unpooled.wrappedBuffer(wire));
                    drainFrames(ch);
                    assertThat(decoder.pendingBytes()).as(v.path("name").asText()).isPositive();
                    assertThatThrownBy(ch::finish)
                            .as(v.path("name").asText())
                            .isInstanceOfSatisfying(ProtocolException.class, e -> {
                                assertThat(e.errorCode()).as(v.path("name").asText()).isEqualTo(expected);
                                assertThat(e.requestId()).as(v.path("name").asText()).isEqualTo(requestId);
                            });
                    return;
                }
                assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(wire)))
                        .as(v.path("name").asText())
                        .isInstanceOfSatisfying(ProtocolException.class, e -> {
                            assertThat(e.errorCode()).as(v.path("name").asText()).isEqualTo(expected);
                            assertThat(e.requestId()).as(v.path("name").asText()).isEqualTo(requestId);
                        });
            } finally {
                ch.finishAndReleaseAll();
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> malformedInputFailsTheSameWayByteByByte() {
        int max = vectors.path("maxFrameLength").asInt();
        return stream(vectors.path("malformed"))
                .filter(v -> !v.path("endOfInput").asBoolean(false))
                .map(v -> DynamicTest.dynamicTest(v.path("name").asText(), () -> {
                    byte[] wire = HEX.parseHex(v.path("hex").asText());
                    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(max));
                    ch.attr(FrameCodec.VERSION).set(version(v));
                    try {
                        for (int i = 0; i < wire.length; i++) {
                            try {
                                ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {wire[i]}));
                            } catch (ProtocolException e) {
                                String name = v.path("name").asText();
                                assertThat(e.errorCode().name()).as(name).isEqualTo(v.path("error").asText());
                                assertThat(e.requestId()).as(name).isEqualTo(v.path("requestId").asLong());
                                return;
                            }
                        }
                        fail(v.path("name").asText() + ": no ProtocolException after all " + wire.length + " bytes");
                    } finally {
                        ch.finishAndReleaseAll();
                    }
                }));
    }

    @Test
    void versionMarkersAreOneOrTwoAndVersionTwoCoversEveryFieldAndBothFrames() {
        Set<String> fieldNames = new java.util.HashSet<>();
        Set<String> types = new java.util.HashSet<>();
        List<JsonNode> all = new ArrayList<>();
        vectors.path("frames").forEach(all::add);
        vectors.path("malformed").forEach(all::add);
        for (JsonNode v : all) {
            if (v.has("version")) {
                assertThat(v.path("version").asInt()).as(v.path("name").asText()).isEqualTo(2);
            }
        }
        frameVectors().filter(v -> version(v) == 2 && !v.path("decodeOnly").asBoolean(false)).forEach(v -> {
            types.add(v.path("type").asText());
            v.path("fields").path("errorFields").fieldNames().forEachRemaining(fieldNames::add);
        });
        assertThat(types).contains("ERROR", "SUBSCRIPTION_CLOSED");
        assertThat(fieldNames).containsExactlyInAnyOrder("lastSequence", "firstRetainedSequence", "retryAfterMillis",
                "lastProducerSequence");
        // every version 2 ERROR or SUBSCRIPTION_CLOSED states its fields, possibly none
        frameVectors().filter(v -> version(v) == 2 && (v.path("type").asText().equals("ERROR")
                        || v.path("type").asText().equals("SUBSCRIPTION_CLOSED")))
                .forEach(v -> assertThat(v.path("fields").has("errorFields")).as(v.path("name").asText()).isTrue());
    }

    /** A vector's protocol version: its "version" marker, or 1 without one. */
    private static int version(JsonNode v) {
        return v.path("version").asInt(1);
    }

    private static void drainFrames(EmbeddedChannel ch) {
        while (ch.readInbound() != null) {
            // frames before the unfinished one are fine
        }
    }

    private static Stream<JsonNode> frameVectors() {
        return stream(vectors.path("frames"));
    }

    private static Stream<JsonNode> stream(JsonNode array) {
        List<JsonNode> list = new ArrayList<>();
        array.forEach(list::add);
        assertThat(list).as("vectors").isNotEmpty();
        return list.stream();
    }

    /** 64-bit fields may be written as JSON numbers up to 2^64-1 (request ids are unsigned). */
    private static long u64(JsonNode n) {
        assertThat(n.isIntegralNumber()).as("integer: " + n).isTrue();
        return n.bigIntegerValue().longValue();
    }

    private static int i32(JsonNode n) {
        assertThat(n.canConvertToInt()).as("32-bit integer: " + n).isTrue();
        return n.intValue();
    }

    private static boolean bool(JsonNode n) {
        assertThat(n != null && n.isBoolean()).as("boolean: " + n).isTrue();
        return n.booleanValue();
    }

    private static String str(JsonNode n) {
        assertThat(n.isTextual()).as("string: " + n).isTrue();
        return n.textValue();
    }

    private static byte[] hex(JsonNode n) {
        return HEX.parseHex(str(n));
    }

    private static RecordBatch records(JsonNode n) {
        assertThat(n.isArray()).as("array of hex records: " + n).isTrue();
        List<byte[]> payloads = new ArrayList<>();
        n.forEach(r -> payloads.add(hex(r)));
        return RecordBatch.of(payloads);
    }

    /** Builds the frame a vector's fields describe, independently of the codec. */
    private static Frame frameOf(FrameType type, JsonNode f) {
        long id = u64(f.path("requestId"));
        return switch (type) {
            case HELLO -> new Frame.Hello(id, i32(f.get("minVersion")), i32(f.get("maxVersion")),
                    str(f.get("clientName")));
            case WELCOME -> new Frame.Welcome(id, i32(f.get("version")), i32(f.get("maxFrameLength")),
                    u64(f.get("storeId")), str(f.get("serverName")));
            case PING -> new Frame.Ping(id);
            case PONG -> new Frame.Pong(id);
            case OK -> new Frame.Ok(id);
            case GOAWAY -> new Frame.GoAway(id, i32(f.get("code")), str(f.get("message")));
            case ERROR -> new Frame.Error(id, i32(f.get("code")), str(f.get("message")), errorFields(f));
            case PUBLISH -> new Frame.Publish(id, str(f.get("stream")), u64(f.get("expectedSequence")),
                    hex(f.get("payloadHex")));
            case PUBLISH_BATCH -> new Frame.PublishBatch(id, str(f.get("stream")), u64(f.get("expectedSequence")),
                    records(f.get("recordsHex")));
            case PUBLISH_IDEMPOTENT -> new Frame.PublishIdempotent(id, str(f.get("stream")),
                    u64(f.get("expectedSequence")), str(f.get("producerId")), u64(f.get("producerSequence")),
                    records(f.get("recordsHex")));
            case PUBLISH_ACK -> new Frame.PublishAck(id, u64(f.get("firstSequence")), i32(f.get("count")),
                    bool(f.get("duplicate")));
            case SUBSCRIBE -> new Frame.Subscribe(id, i32(f.get("subscriptionId")), str(f.get("stream")),
                    Frame.StartKind.valueOf(str(f.get("startKind"))), u64(f.get("startSequence")),
                    i32(f.get("credits")));
            case SUBSCRIBED -> new Frame.Subscribed(id, i32(f.get("subscriptionId")), u64(f.get("startSequence")));
            case DELIVER -> new Frame.Deliver(id, i32(f.get("subscriptionId")), str(f.get("stream")),
                    u64(f.get("firstSequence")), records(f.get("recordsHex")));
            case CREDIT -> new Frame.Credit(id, i32(f.get("subscriptionId")), i32(f.get("credits")));
            case UNSUBSCRIBE -> new Frame.Unsubscribe(id, i32(f.get("subscriptionId")));
            case SUBSCRIPTION_CLOSED -> new Frame.SubscriptionClosed(id, i32(f.get("subscriptionId")),
                    i32(f.get("code")), str(f.get("message")), errorFields(f));
            case REQUEST -> new Frame.Request(id, str(f.get("subject")), i32(f.get("timeoutMillis")),
                    hex(f.get("payloadHex")));
            case RESPONSE -> new Frame.Response(id, hex(f.get("payloadHex")));
            case RESPOND_ON -> new Frame.RespondOn(id, str(f.get("subject")));
            case RESPOND_OFF -> new Frame.RespondOff(id, str(f.get("subject")));
            case CONSUME -> new Frame.Consume(id, i32(f.get("subscriptionId")), str(f.get("stream")),
                    str(f.get("consumer")), Frame.StartKind.valueOf(str(f.get("startKind"))), u64(f.get("startSequence")),
                    i32(f.get("credits")), i32(f.get("ackMode")), i32(f.get("maxLag")), i32(f.get("resume")) == 1);
            case ACK -> new Frame.Ack(id, i32(f.get("subscriptionId")), u64(f.get("sequence")));
            case CONSUMERS -> new Frame.Consumers(id, str(f.get("stream")));
            case FETCH -> new Frame.Fetch(id, str(f.get("stream")), u64(f.get("fromSequence")),
                    i32(f.get("maxMessages")));
            case FETCHED -> new Frame.Fetched(id, u64(f.get("lastSequence")), u64(f.get("firstSequence")),
                    records(f.get("recordsHex")));
            case CONSUMER_LIST -> {
                List<Frame.ConsumerInfo> list = new ArrayList<>();
                f.get("consumers").forEach(c -> list.add(new Frame.ConsumerInfo(str(c.get("name")),
                        u64(c.get("ackedSequence")), i32(c.get("maxLag")), bool(c.get("connected")))));
                yield new Frame.ConsumerList(id, u64(f.get("lastSequence")), i32(f.get("heldPublishes")),
                        u64(f.get("heldMillis")), u64(f.get("rejectedPublishes")), list);
            }
            case AUTH -> new Frame.Auth(id, str(f.get("mechanism")), hex(f.get("credentialHex")));
            case AUTH_OK -> new Frame.AuthOk(id, str(f.get("principal")), u64(f.get("expiresAtMillis")));
            case STREAMS -> new Frame.Streams(id, str(f.get("after")), i32(f.get("max")));
            case STREAM_LIST -> {
                List<Frame.StreamInfo> list = new ArrayList<>();
                f.get("streams").forEach(c -> list.add(new Frame.StreamInfo(str(c.get("name")),
                        u64(c.get("firstSequence")), u64(c.get("lastSequence")), u64(c.get("bytes")),
                        i32(c.get("consumers")))));
                yield new Frame.StreamList(id, list, bool(f.get("more")));
            }
            case DELETE_STREAM -> new Frame.DeleteStream(id, str(f.get("stream")));
            case TRIM_STREAM -> new Frame.TrimStream(id, str(f.get("stream")), u64(f.get("beforeSequence")));
            case DELETE_CONSUMER -> new Frame.DeleteConsumer(id, str(f.get("stream")), str(f.get("consumer")));
        };
    }

    /** The "errorFields" object of a version 2 vector, or none. */
    private static ErrorFields errorFields(JsonNode f) {
        ErrorFields fields = ErrorFields.NONE;
        JsonNode e = f.get("errorFields");
        if (e != null) {
            for (var it = e.fields(); it.hasNext(); ) {
                var entry = it.next();
                int key = ErrorFields.keyOf(entry.getKey());
                assertThat(key).as("known error field " + entry.getKey()).isPositive();
                fields = fields.with(key, u64(entry.getValue()));
            }
        }
        return fields;
    }

    private static Map<String, Object> errorFieldsOf(ErrorFields fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int k : fields.keys()) {
            m.put(ErrorFields.name(k), Long.toUnsignedString(fields.get(k).getAsLong()));
        }
        return m;
    }

    /** A frame's fields in the vectors' vocabulary, so decoded frames compare exactly with the JSON. */
    private static Map<String, Object> fieldsOf(Frame frame, int version) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requestId", Long.toUnsignedString(frame.requestId()));
        switch (frame.type()) {
            case HELLO -> {
                Frame.Hello f = (Frame.Hello) frame;
                m.put("minVersion", f.minVersion());
                m.put("maxVersion", f.maxVersion());
                m.put("clientName", f.clientName());
            }
            case WELCOME -> {
                Frame.Welcome f = (Frame.Welcome) frame;
                m.put("version", f.version());
                m.put("maxFrameLength", f.maxFrameLength());
                m.put("storeId", Long.toUnsignedString(f.storeId()));
                m.put("serverName", f.serverName());
            }
            case PING, PONG, OK -> { }
            case GOAWAY -> {
                Frame.GoAway f = (Frame.GoAway) frame;
                code(m, f.code()).put("message", f.message());
            }
            case ERROR -> {
                Frame.Error f = (Frame.Error) frame;
                code(m, f.code()).put("message", f.message());
                if (version >= 2) {
                    m.put("errorFields", errorFieldsOf(f.fields()));
                }
            }
            case PUBLISH -> {
                Frame.Publish f = (Frame.Publish) frame;
                m.put("stream", f.stream());
                m.put("expectedSequence", Long.toUnsignedString(f.expectedSequence()));
                m.put("payloadHex", HEX.formatHex(f.payload()));
            }
            case PUBLISH_BATCH -> {
                Frame.PublishBatch f = (Frame.PublishBatch) frame;
                m.put("stream", f.stream());
                m.put("expectedSequence", Long.toUnsignedString(f.expectedSequence()));
                m.put("recordsHex", recordsHex(f.records()));
            }
            case PUBLISH_IDEMPOTENT -> {
                Frame.PublishIdempotent f = (Frame.PublishIdempotent) frame;
                m.put("stream", f.stream());
                m.put("expectedSequence", Long.toUnsignedString(f.expectedSequence()));
                m.put("producerId", f.producerId());
                m.put("producerSequence", Long.toUnsignedString(f.producerSequence()));
                m.put("recordsHex", recordsHex(f.records()));
            }
            case PUBLISH_ACK -> {
                Frame.PublishAck f = (Frame.PublishAck) frame;
                m.put("firstSequence", Long.toUnsignedString(f.firstSequence()));
                m.put("count", f.count());
                m.put("duplicate", f.duplicate());
            }
            case SUBSCRIBE -> {
                Frame.Subscribe f = (Frame.Subscribe) frame;
                m.put("subscriptionId", f.subscriptionId());
                m.put("stream", f.stream());
                m.put("startKind", f.startKind().name());
                m.put("startSequence", Long.toUnsignedString(f.startSequence()));
                m.put("credits", f.credits());
            }
            case SUBSCRIBED -> {
                Frame.Subscribed f = (Frame.Subscribed) frame;
                m.put("subscriptionId", f.subscriptionId());
                m.put("startSequence", Long.toUnsignedString(f.startSequence()));
            }
            case DELIVER -> {
                Frame.Deliver f = (Frame.Deliver) frame;
                m.put("subscriptionId", f.subscriptionId());
                m.put("stream", f.stream());
                m.put("firstSequence", Long.toUnsignedString(f.firstSequence()));
                m.put("recordsHex", recordsHex(f.records()));
            }
            case CREDIT -> {
                Frame.Credit f = (Frame.Credit) frame;
                m.put("subscriptionId", f.subscriptionId());
                m.put("credits", f.credits());
            }
            case UNSUBSCRIBE -> m.put("subscriptionId", ((Frame.Unsubscribe) frame).subscriptionId());
            case SUBSCRIPTION_CLOSED -> {
                Frame.SubscriptionClosed f = (Frame.SubscriptionClosed) frame;
                m.put("subscriptionId", f.subscriptionId());
                code(m, f.code()).put("message", f.message());
                if (version >= 2) {
                    m.put("errorFields", errorFieldsOf(f.fields()));
                }
            }
            case REQUEST -> {
                Frame.Request f = (Frame.Request) frame;
                m.put("subject", f.subject());
                m.put("timeoutMillis", f.timeoutMillis());
                m.put("payloadHex", HEX.formatHex(f.payload()));
            }
            case RESPONSE -> m.put("payloadHex", HEX.formatHex(((Frame.Response) frame).payload()));
            case RESPOND_ON -> m.put("subject", ((Frame.RespondOn) frame).subject());
            case RESPOND_OFF -> m.put("subject", ((Frame.RespondOff) frame).subject());
            case CONSUME -> {
                Frame.Consume f = (Frame.Consume) frame;
                m.put("subscriptionId", f.subscriptionId());
                m.put("stream", f.stream());
                m.put("consumer", f.consumer());
                m.put("startKind", f.startKind().name());
                m.put("startSequence", Long.toUnsignedString(f.startSequence()));
                m.put("credits", f.credits());
                m.put("ackMode", f.ackMode());
                m.put("maxLag", f.maxLag());
                m.put("resume", f.resume() ? 1 : 0);
            }
            case ACK -> {
                Frame.Ack f = (Frame.Ack) frame;
                m.put("subscriptionId", f.subscriptionId());
                m.put("sequence", Long.toUnsignedString(f.sequence()));
            }
            case CONSUMERS -> m.put("stream", ((Frame.Consumers) frame).stream());
            case FETCH -> {
                Frame.Fetch f = (Frame.Fetch) frame;
                m.put("stream", f.stream());
                m.put("fromSequence", Long.toUnsignedString(f.fromSequence()));
                m.put("maxMessages", f.maxMessages());
            }
            case FETCHED -> {
                Frame.Fetched f = (Frame.Fetched) frame;
                m.put("lastSequence", Long.toUnsignedString(f.lastSequence()));
                m.put("firstSequence", Long.toUnsignedString(f.firstSequence()));
                m.put("recordsHex", recordsHex(f.records()));
            }
            case CONSUMER_LIST -> {
                Frame.ConsumerList f = (Frame.ConsumerList) frame;
                m.put("lastSequence", Long.toUnsignedString(f.lastSequence()));
                m.put("heldPublishes", f.heldPublishes());
                m.put("heldMillis", Long.toUnsignedString(f.heldMillis()));
                m.put("rejectedPublishes", Long.toUnsignedString(f.rejectedPublishes()));
                List<Map<String, Object>> cs = new ArrayList<>();
                for (Frame.ConsumerInfo c : f.consumers()) {
                    Map<String, Object> cm = new LinkedHashMap<>();
                    cm.put("name", c.name());
                    cm.put("ackedSequence", Long.toUnsignedString(c.ackedSequence()));
                    cm.put("maxLag", c.maxLag());
                    cm.put("connected", c.connected());
                    cs.add(cm);
                }
                m.put("consumers", cs);
            }
            case AUTH -> {
                Frame.Auth f = (Frame.Auth) frame;
                m.put("mechanism", f.mechanism());
                m.put("credentialHex", HEX.formatHex(f.credential()));
            }
            case AUTH_OK -> {
                Frame.AuthOk f = (Frame.AuthOk) frame;
                m.put("principal", f.principal());
                m.put("expiresAtMillis", Long.toUnsignedString(f.expiresAtMillis()));
            }
            case STREAMS -> {
                Frame.Streams f = (Frame.Streams) frame;
                m.put("after", f.after());
                m.put("max", f.max());
            }
            case STREAM_LIST -> {
                Frame.StreamList f = (Frame.StreamList) frame;
                List<Map<String, Object>> ss = new ArrayList<>();
                for (Frame.StreamInfo i : f.streams()) {
                    Map<String, Object> sm = new LinkedHashMap<>();
                    sm.put("name", i.name());
                    sm.put("firstSequence", Long.toUnsignedString(i.firstSequence()));
                    sm.put("lastSequence", Long.toUnsignedString(i.lastSequence()));
                    sm.put("bytes", Long.toUnsignedString(i.bytes()));
                    sm.put("consumers", i.consumers());
                    ss.add(sm);
                }
                m.put("streams", ss);
                m.put("more", f.more());
            }
            case DELETE_STREAM -> m.put("stream", ((Frame.DeleteStream) frame).stream());
            case TRIM_STREAM -> {
                Frame.TrimStream f = (Frame.TrimStream) frame;
                m.put("stream", f.stream());
                m.put("beforeSequence", Long.toUnsignedString(f.beforeSequence()));
            }
            case DELETE_CONSUMER -> {
                Frame.DeleteConsumer f = (Frame.DeleteConsumer) frame;
                m.put("stream", f.stream());
                m.put("consumer", f.consumer());
            }
        }
        return m;
    }

    private static Map<String, Object> code(Map<String, Object> m, int code) {
        m.put("code", code);
        m.put("codeName", ErrorCode.of(code).name());
        return m;
    }

    private static List<String> recordsHex(RecordBatch batch) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < batch.count(); i++) {
            out.add(HEX.formatHex(batch.payload(i)));
        }
        return out;
    }

    /** The JSON fields in the same vocabulary: 64-bit numbers as unsigned decimal strings. */
    private static Map<String, Object> jsonFields(JsonNode fields) {
        Map<String, Object> m = new LinkedHashMap<>();
        fields.fields().forEachRemaining(e -> {
            JsonNode n = e.getValue();
            Object value;
            if (n.isArray()) {
                List<Object> list = new ArrayList<>();
                n.forEach(x -> list.add(x.isObject() ? jsonFields(x) : str(x)));
                value = list;
            } else if (n.isObject()) {
                value = jsonFields(n);
            } else if (n.isTextual()) {
                value = n.textValue();
            } else if (n.isBoolean()) {
                value = n.booleanValue();
            } else if (n.isIntegralNumber() && n.canConvertToInt() && !isU64Field(e.getKey())) {
                value = n.intValue();
            } else if (n.isIntegralNumber()) {
                value = n.bigIntegerValue().toString();
            } else {
                throw new AssertionError("unexpected JSON value for " + e.getKey() + ": " + n);
            }
            m.put(e.getKey(), value);
        });
        return m;
    }

    /**
     * The u64/u63 fields, compared as unsigned decimal strings: besides those named here, every
     * field ending in "Sequence" (expectedSequence, producerSequence, firstSequence, lastSequence,
     * startSequence, fromSequence, ...).
     */
    private static boolean isU64Field(String name) {
        return name.equals("requestId") || name.equals("storeId") || name.equals("sequence")
                || name.equals("heldMillis") || name.equals("rejectedPublishes") || name.equals("retryAfterMillis")
                || name.equals("expiresAtMillis") || name.equals("bytes")
                || name.endsWith("Sequence");
    }
}
