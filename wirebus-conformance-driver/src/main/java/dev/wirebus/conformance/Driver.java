package dev.wirebus.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.FetchResult;
import dev.wirebus.client.Message;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.Responder;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StreamConsumers;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.FrameCodec;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The Java client's conformance driver (the protocol is in the shared brief and in
 * {@code conformance/README.md}): reads one JSON command per line on stdin, answers each with one
 * JSON line on stdout, in order; logs go to stderr. Exits 0 at end of input.
 *
 * <p>Every wait has a deadline: a call's future is awaited at most {@link #CALL_MILLIS} (a command's
 * own {@code timeoutMs} where it has one), then the answer is a {@code CLIENT_TIMEOUT} error.
 */
public final class Driver {
    /** Longest wait for any client call without a timeout of its own; above the broker's 5 s publish wait. */
    static final long CALL_MILLIS = 15_000;
    /** Most messages a subscription buffers before its handler blocks (and credits stop flowing back). */
    static final int BUFFER = 1 << 20;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();

    private final PrintStream out;
    private WirebusClient client;
    private int version;
    private final Map<String, Sub> subs = new LinkedHashMap<>();
    private final List<Responder> responders = new ArrayList<>();

    /** One subscription's delivered messages, buffered until a {@code take}, and how it ended. */
    private static final class Sub {
        final LinkedBlockingQueue<Message> buffer = new LinkedBlockingQueue<>(BUFFER);
        volatile Subscription subscription;
        volatile Throwable ended;
    }

    /** A failure with the driver protocol's code and name. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;
        final int code;
        final String name;
        final transient Map<String, Long> fields;

        Failure(int code, String name, String message, Map<String, Long> fields) {
            super(message);
            this.code = code;
            this.name = name;
            this.fields = fields;
        }

        static Failure client(String message) {
            return new Failure(-1, "CLIENT", message, Map.of());
        }
    }

    Driver(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        // whatever a library prints must not mix with the answers
        System.setOut(System.err);
        Driver d = new Driver(out);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            ObjectNode reply;
            try {
                reply = d.handle(JSON.readTree(line));
            } catch (Failure f) {
                reply = d.error(f);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                reply = d.error(Failure.client("not a JSON object: " + e.getOriginalMessage()));
            } catch (RuntimeException e) {
                reply = d.error(Failure.client(e.toString()));
            }
            out.println(JSON.writeValueAsString(reply));
            out.flush();
        }
        d.closeClient();
        System.exit(0);
    }

    ObjectNode handle(JsonNode cmd) throws Failure {
        String name = cmd.path("cmd").asText("");
        return switch (name) {
            case "connect" -> connect(cmd);
            case "auth" -> auth(cmd);
            case "publish" -> publish(cmd);
            case "publishBatch" -> publishBatch(cmd);
            case "subscribe" -> subscribe(cmd, false);
            case "consume" -> subscribe(cmd, true);
            case "take" -> take(cmd);
            case "ack" -> ack(cmd);
            case "unsubscribe" -> unsubscribe(cmd);
            case "fetch" -> fetch(cmd);
            case "respond" -> respond(cmd);
            case "request" -> request(cmd);
            case "consumers" -> consumers(cmd);
            case "close" -> {
                closeClient();
                yield ok();
            }
            default -> throw Failure.client("unknown command " + name);
        };
    }

    private ObjectNode connect(JsonNode cmd) throws Failure {
        closeClient();
        List<String> addresses = new ArrayList<>();
        cmd.path("addresses").forEach(a -> addresses.add(a.asText()));
        if (addresses.isEmpty()) {
            throw Failure.client("connect needs addresses");
        }
        String name = cmd.path("name").asText("conformance-java");
        String token = cmd.hasNonNull("token") ? cmd.get("token").asText() : null;
        // A client that takes several addresses ("a,b": connect to the first that answers, fail over
        // on a lost connection) gets them all; one that takes a single address refuses the list, and
        // the addresses are then tried in turn for the first connection only.
        List<String> candidates = new ArrayList<>();
        if (addresses.size() > 1) {
            candidates.add(String.join(",", addresses));
        }
        candidates.addAll(addresses);
        WirebusException last = null;
        for (String address : candidates) {
            try {
                // a generous handshake deadline: the suite starts several JVMs at once on busy machines
                WirebusClient.Builder b = WirebusClient.builder().address(address).name(name)
                        .connectTimeout(Duration.ofSeconds(15))
                        .requestTimeout(Duration.ofMillis(CALL_MILLIS - 1000));
                if (token != null) {
                    b.token(token);
                }
                client = b.connect();
                break;
            } catch (WirebusException e) {
                last = e;
                if (address.contains(",") || "AUTH_FAILED".equals(failure(e).name)) {
                    break; // the client tried every address itself, or the credential was refused
                }
            } catch (IllegalArgumentException e) {
                last = new ConnectionException(e.getMessage());
            }
        }
        if (client == null) {
            throw failure(last);
        }
        version = negotiatedVersion(client);
        ObjectNode answer = ok().put("version", version);
        if (token != null) {
            answer.put("principal", client.principal());
        }
        return answer;
    }

    /** The client's negotiated version when it tells (a later client may), else the only version it offers. */
    private static int negotiatedVersion(WirebusClient c) {
        for (String m : new String[] {"protocolVersion", "version"}) {
            try {
                Object v = c.getClass().getMethod(m).invoke(c);
                if (v instanceof Number n) {
                    return n.intValue();
                }
            } catch (ReflectiveOperationException | RuntimeException e) {
                // not there: fall through
            }
        }
        return FrameCodec.PROTOCOL_VERSION;
    }

    private WirebusClient client() throws Failure {
        if (client == null) {
            throw new Failure(-1, "CONNECTION", "not connected: send connect first", Map.of());
        }
        return client;
    }

    /** Presents another token on the open connection: its principal and expiry. */
    private ObjectNode auth(JsonNode cmd) throws Failure {
        dev.wirebus.client.Authentication a = await(client().authenticate(text(cmd, "token")), CALL_MILLIS);
        return ok().put("principal", a.principal()).put("expiresAtMillis", a.expiresAtMillis());
    }

    private ObjectNode publish(JsonNode cmd) throws Failure {
        String stream = text(cmd, "stream");
        byte[] payload = hexField(cmd, "payload");
        long expected = cmd.path("expectedSequence").asLong(0);
        long seq = await(client().publish(stream, payload, expected), CALL_MILLIS).firstSequence();
        return ok().put("sequence", seq);
    }

    private ObjectNode publishBatch(JsonNode cmd) throws Failure {
        String stream = text(cmd, "stream");
        List<byte[]> payloads = new ArrayList<>();
        JsonNode list = cmd.path("payloads");
        if (!list.isArray()) {
            throw Failure.client("'payloads' (a list of hex strings) is missing");
        }
        for (JsonNode p : list) {
            if (!p.isTextual()) {
                throw Failure.client("'payloads' holds a non-string: " + p);
            }
            payloads.add(hex(p.asText()));
        }
        long expected = cmd.path("expectedSequence").asLong(0);
        CompletableFuture<PublishAck> f;
        if (cmd.hasNonNull("producer")) {
            PublishOptions.Builder b = PublishOptions.builder()
                    .producer(cmd.get("producer").asText(), cmd.path("producerSequence").asLong(0));
            if (expected > 0) {
                b.expectedSequence(expected);
            }
            f = client().publishBatch(stream, payloads, b.build());
        } else {
            f = client().publishBatch(stream, payloads, expected);
        }
        PublishAck ack = await(f, CALL_MILLIS);
        return ok().put("firstSequence", ack.firstSequence()).put("count", ack.count())
                .put("duplicate", ack.duplicate());
    }

    private ObjectNode subscribe(JsonNode cmd, boolean durable) throws Failure {
        String subName = text(cmd, "sub");
        if (subs.containsKey(subName)) {
            throw Failure.client("sub '" + subName + "' is already open");
        }
        String stream = text(cmd, "stream");
        StartPosition start = start(cmd.path("start"));
        SubscribeOptions options;
        if (durable) {
            String ackMode = cmd.path("ackMode").asText("explicit");
            options = SubscribeOptions.builder().start(start).consumer(text(cmd, "consumer"))
                    .ackMode(switch (ackMode) {
                        case "explicit" -> SubscribeOptions.AckMode.EXPLICIT;
                        case "auto" -> SubscribeOptions.AckMode.ON_DELIVERY;
                        default -> throw new IllegalArgumentException("ackMode must be explicit or auto, was " + ackMode);
                    })
                    .maxLag(cmd.path("maxLag").asInt(0)).build();
        } else {
            options = SubscribeOptions.from(start);
        }
        // credits: the Java client grants one window per subscription (a client setting), whatever the command says
        Sub sub = new Sub();
        Subscription s = client().subscribe(stream, options, m -> sub.buffer.put(m));
        sub.subscription = s;
        s.closed().whenComplete((v, e) -> sub.ended = e == null ? null : unwrap(e));
        long first;
        try {
            first = await(s.started(), CALL_MILLIS);
        } catch (Failure f) {
            s.close();
            throw f;
        }
        subs.put(subName, sub);
        return ok().put("startSequence", first);
    }

    private static StartPosition start(JsonNode start) {
        if (start.isObject()) {
            return StartPosition.sequence(start.path("sequence").asLong());
        }
        String s = start.asText("earliest");
        return switch (s) {
            case "earliest" -> StartPosition.earliest();
            case "latest" -> StartPosition.latest();
            default -> throw new IllegalArgumentException("start must be earliest, latest or {\"sequence\": n}, was " + s);
        };
    }

    private ObjectNode take(JsonNode cmd) throws Failure {
        Sub sub = sub(cmd);
        int count = cmd.path("count").asInt(1);
        long timeoutMs = cmd.path("timeoutMs").asLong(10_000);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        List<Message> got = new ArrayList<>();
        Failure failure = null;
        while (got.size() < count) {
            Message m = sub.buffer.poll();
            if (m != null) {
                got.add(m);
                continue;
            }
            Throwable ended = sub.ended;
            if (ended != null && sub.buffer.isEmpty()) {
                failure = failure(ended);
                break;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                failure = new Failure(-1, "CLIENT_TIMEOUT", "took " + got.size() + " of " + count
                        + " messages within " + timeoutMs + " ms", Map.of());
                break;
            }
            try {
                // short slices, so a subscription that ends meanwhile is noticed
                m = sub.buffer.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Failure.client("interrupted");
            }
            if (m != null) {
                got.add(m);
            }
        }
        ArrayNode messages = JSON.createArrayNode();
        for (Message m : got) {
            messages.addObject().put("sequence", m.sequence()).put("payload", HEX.formatHex(m.payload()));
        }
        ObjectNode reply = failure == null ? ok() : error(failure);
        reply.set("messages", messages);
        return reply;
    }

    private ObjectNode ack(JsonNode cmd) throws Failure {
        Sub sub = sub(cmd);
        await(sub.subscription.ack(cmd.path("sequence").asLong()), CALL_MILLIS);
        return ok();
    }

    private ObjectNode unsubscribe(JsonNode cmd) throws Failure {
        Sub sub = sub(cmd);
        subs.remove(cmd.path("sub").asText());
        sub.subscription.close();
        return ok();
    }

    private ObjectNode fetch(JsonNode cmd) throws Failure {
        String stream = text(cmd, "stream");
        FetchResult page = await(client().fetch(stream, cmd.path("from").asLong(1), cmd.path("max").asInt(100)),
                CALL_MILLIS);
        ArrayNode messages = JSON.createArrayNode();
        for (Message m : page.messages()) {
            messages.addObject().put("sequence", m.sequence()).put("payload", HEX.formatHex(m.payload()));
        }
        ObjectNode reply = ok().put("lastSequence", page.lastSequence());
        reply.set("messages", messages);
        return reply;
    }

    private ObjectNode respond(JsonNode cmd) throws Failure {
        String subject = text(cmd, "subject");
        boolean echo = cmd.path("echo").asBoolean(false);
        byte[] reply = echo ? null : hexField(cmd, "reply");
        Responder r = await(client().respond(subject, req -> echo ? req.payload() : reply), CALL_MILLIS);
        responders.add(r);
        return ok();
    }

    private ObjectNode request(JsonNode cmd) throws Failure {
        long timeoutMs = cmd.path("timeoutMs").asLong(5000);
        byte[] answer = await(client().request(text(cmd, "subject"), hexField(cmd, "payload"),
                Duration.ofMillis(timeoutMs)), timeoutMs + 3000);
        return ok().put("payload", HEX.formatHex(answer));
    }

    private ObjectNode consumers(JsonNode cmd) throws Failure {
        StreamConsumers s = await(client().consumers(text(cmd, "stream")), CALL_MILLIS);
        ObjectNode reply = ok().put("lastSequence", s.lastSequence()).put("heldPublishes", s.heldPublishes());
        ArrayNode list = reply.putArray("consumers");
        for (ConsumerInfo c : s.consumers()) {
            list.addObject().put("name", c.name()).put("ackedSequence", c.ackedSequence())
                    .put("maxLag", c.maxLag()).put("connected", c.connected());
        }
        return reply;
    }

    private void closeClient() {
        for (Sub s : subs.values()) {
            s.subscription.close();
        }
        subs.clear();
        responders.clear();
        if (client != null) {
            client.close();
            client = null;
        }
    }

    // ---------------------------------------------------------------- helpers

    private Sub sub(JsonNode cmd) throws Failure {
        Sub s = subs.get(cmd.path("sub").asText());
        if (s == null) {
            throw Failure.client("no open sub '" + cmd.path("sub").asText() + "'");
        }
        return s;
    }

    private static String text(JsonNode cmd, String field) throws Failure {
        JsonNode n = cmd.get(field);
        if (n == null || !n.isTextual()) {
            throw Failure.client("'" + field + "' (a string) is missing");
        }
        return n.asText();
    }

    /** A hex string field; absent means empty. */
    private static byte[] hexField(JsonNode cmd, String field) throws Failure {
        JsonNode n = cmd.get(field);
        if (n == null || n.isNull()) {
            return new byte[0];
        }
        if (!n.isTextual()) {
            throw Failure.client("'" + field + "' must be a hex string, was " + n);
        }
        return hex(n.asText());
    }

    private static byte[] hex(String s) {
        return HEX.parseHex(s);
    }

    private static <T> T await(Future<T> f, long millis) throws Failure {
        try {
            return f.get(millis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        } catch (TimeoutException e) {
            f.cancel(false);
            throw new Failure(-1, "CLIENT_TIMEOUT", "no answer within " + millis + " ms", Map.of());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw Failure.client("interrupted");
        } catch (java.util.concurrent.CancellationException e) {
            throw Failure.client("cancelled");
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Maps a client exception to the driver protocol's error: a wire code, or -1 with a local name. */
    static Failure failure(Throwable t) {
        t = unwrap(t);
        if (t instanceof Failure f) {
            return f;
        }
        String message = String.valueOf(t.getMessage());
        if (t instanceof dev.wirebus.client.AuthenticationException a) {
            // AUTH_FAILED / AUTH_EXPIRED: the broker's code, although the connection is gone
            return new Failure(a.errorCode().code(), a.errorCode().name(), message, Map.of());
        }
        if (t instanceof ConnectionException) {
            return new Failure(-1, "CONNECTION", message, Map.of());
        }
        if (t instanceof BackpressureException) {
            // the client's own in-flight limit or queue: nothing went to the broker
            return Failure.client(message);
        }
        if (t instanceof WirebusTimeoutException && message.startsWith("no answer to ")) {
            // the client's deadline passed (the broker's TIMEOUT carries the broker's words)
            return new Failure(-1, "CLIENT_TIMEOUT", message, Map.of());
        }
        if (t instanceof WirebusException w) {
            ErrorCode code = w.errorCode();
            return new Failure(code.code(), code.name(), message, fields(w));
        }
        return Failure.client(t.toString());
    }

    private static final String[] FIELD_NAMES = {"lastSequence", "firstRetainedSequence", "retryAfterMillis",
        "lastProducerSequence"};

    /**
     * The v2 error fields this client's exception tells, found by name so the driver builds against
     * any version of the client: accessors {@code lastSequence()}, {@code firstRetainedSequence()},
     * {@code lastProducerSequence()} (a long, negative when unknown, or an OptionalLong),
     * {@code retryAfter()} (an Optional Duration), and the same names on what {@code fields()}
     * returns (a Map, or an object with those accessors).
     */
    static Map<String, Long> fields(WirebusException e) {
        Map<String, Long> fields = new LinkedHashMap<>();
        readFields(e, fields);
        Object more = invoke(e, "fields");
        if (more instanceof Map<?, ?> map) {
            map.forEach((k, val) -> {
                if (val instanceof Number n) {
                    fields.putIfAbsent(String.valueOf(k), n.longValue());
                }
            });
        } else if (more != null) {
            readFields(more, fields);
        }
        return fields;
    }

    private static void readFields(Object source, Map<String, Long> into) {
        for (String name : FIELD_NAMES) {
            Long v = number(invoke(source, name));
            if (v != null) {
                into.putIfAbsent(name, v);
            }
        }
        if (invoke(source, "retryAfter") instanceof java.util.Optional<?> o && o.isPresent()
                && o.get() instanceof Duration d) {
            into.putIfAbsent("retryAfterMillis", d.toMillis());
        }
    }

    private static Long number(Object v) {
        if (v instanceof OptionalLong o) {
            return o.isPresent() ? o.getAsLong() : null;
        }
        if (v instanceof Number n && n.longValue() >= 0) {
            return n.longValue();
        }
        return null;
    }

    private static Object invoke(Object target, String method) {
        try {
            Method m = target.getClass().getMethod(method);
            m.setAccessible(true);
            return m.invoke(target);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    private static ObjectNode ok() {
        return JSON.createObjectNode().put("ok", true);
    }

    ObjectNode error(Failure f) {
        ObjectNode reply = JSON.createObjectNode().put("ok", false);
        ObjectNode e = reply.putObject("error");
        e.put("code", f.code).put("name", f.name).put("message", f.getMessage());
        ObjectNode fields = e.putObject("fields");
        f.fields.forEach(fields::put);
        return reply;
    }
}
