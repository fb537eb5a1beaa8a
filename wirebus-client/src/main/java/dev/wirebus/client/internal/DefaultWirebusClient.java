package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.FetchResult;
import dev.wirebus.client.Message;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.RequestHandler;
import dev.wirebus.client.Responder;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StreamConsumers;
import dev.wirebus.client.StreamInfo;
import dev.wirebus.client.StreamPage;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.protocol.RecordBatch;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The client: the public {@link WirebusClient} calls, each turned into a frame and a
 * {@link Call}, on top of four parts with one job each:
 * <ul>
 *   <li>{@link Connection}: connect, handshake, reconnect with backoff, failover, the write path;</li>
 *   <li>{@link CallTable}: request ids, the in-flight window, deadlines (on a {@link Clock}), resends;</li>
 *   <li>{@link Subscriptions} (with {@link ClientSubscription}): subscriptions and their resume after a reconnect;</li>
 *   <li>{@link Responders}: RESPOND_ON registrations and the handlers of incoming requests.</li>
 * </ul>
 * This class wires them together ({@link Connection.Session}) and routes incoming frames to them.
 */
public final class DefaultWirebusClient implements WirebusClient, Connection.Session {
    private final ClientOptions options;
    private final EventLoopGroup group;
    private final ExecutorService ownedDispatch;
    private final CallTable calls;
    private final Connection connection;
    private final Subscriptions subscriptions;
    private final Responders responders;

    private DefaultWirebusClient(ClientOptions options, Clock clock) {
        this.options = options;
        EventLoop loop;
        if (options.eventLoop() != null) {
            this.group = null; // the caller's: it outlives this client
            loop = options.eventLoop();
        } else {
            this.group = ClientTransport.newGroup("wirebus-client-io");
            loop = group.next();
        }
        Executor dispatch;
        if (options.dispatchExecutor() != null) {
            dispatch = options.dispatchExecutor();
            this.ownedDispatch = null;
        } else {
            this.ownedDispatch = Executors.newCachedThreadPool(daemon("wirebus-dispatch"));
            dispatch = ownedDispatch;
        }
        Connection[] conn = new Connection[1];
        this.calls = new CallTable(options.maxInFlight(), options.requestTimeout().toNanos(), clock,
                () -> String.valueOf(conn[0].target()), () -> String.valueOf(conn[0].state()));
        this.connection = new Connection(options, loop, calls);
        conn[0] = connection;
        this.subscriptions = new Subscriptions(connection, calls, dispatch, options.subscriptionWindow());
        this.responders = new Responders(connection, calls, options.dispatchExecutor());
    }

    static ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Connects and handshakes, or throws a {@link ConnectionException} saying why not. */
    public static DefaultWirebusClient connect(ClientOptions options) {
        return connect(options, Clock.SYSTEM);
    }

    /** {@link #connect(ClientOptions)} with deadlines read from {@code clock} (tests). */
    static DefaultWirebusClient connect(ClientOptions options, Clock clock) {
        DefaultWirebusClient client = new DefaultWirebusClient(options, clock);
        CompletableFuture<Void> first = client.connection.start(client);
        long waitMillis = (options.connectTimeout().toMillis() + 1000) * options.targets().size();
        try {
            first.get(waitMillis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            client.shutdown(null);
            throw e.getCause() instanceof WirebusException w ? w
                    : new ConnectionException("cannot connect to " + options.address() + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            client.shutdown(null);
            throw new ConnectionException("no handshake with " + options.address() + " within "
                    + options.connectTimeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            client.shutdown(null);
            Thread.currentThread().interrupt();
            throw new ConnectionException("interrupted while connecting to " + options.address());
        }
        client.connection.startDeadlineTicker();
        return client;
    }

    // ---------------------------------------------------------------- Connection.Session (I/O thread)

    @Override
    public void restore(Channel ch, Frame.Welcome welcome, boolean storeChanged) {
        subscriptions.restore(ch, welcome, storeChanged);
        responders.restore(ch, connection::reportError);
    }

    @Override
    public void onFrame(Channel ch, Frame f) {
        switch (f.type()) {
            case DELIVER -> subscriptions.onDeliver((Frame.Deliver) f);
            case SUBSCRIPTION_CLOSED -> subscriptions.onSubscriptionClosed((Frame.SubscriptionClosed) f);
            case REQUEST -> responders.onRequest(ch, (Frame.Request) f);
            default -> calls.answer(f);
        }
    }

    @Override
    public void onClosed(ConnectionException reason) {
        ConnectionException failure = reason != null ? reason
                : new ConnectionException("client for " + connection.target() + " was closed");
        calls.failAll(failure);
        subscriptions.closeAll(reason);
        if (reason != null) {
            connection.reportError(reason);
        }
        EventLoop loop = connection.loop();
        if (group == null) {
            // the caller's loop: nothing of ours is left on it (the channel is closed, deadlines swept)
        } else if (!loop.inEventLoop()) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        } else {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (ownedDispatch != null) {
            ownedDispatch.shutdown();
        }
        responders.shutdown();
    }

    /** The responders part (tests drive it directly with an EmbeddedChannel). */
    Responders responders() {
        return responders;
    }

    // ---------------------------------------------------------------- API

    @Override
    public int protocolVersion() {
        return connection.protocolVersion();
    }

    private static void checkName(String what, String name) {
        Objects.requireNonNull(name, what);
        // UTF-8 takes at most 3 bytes per char (a surrogate pair, 4 for 2): short names need no encoding
        if (name.isEmpty() || name.length() > FrameCodec.MAX_STRING_BYTES / 3
                && name.getBytes(StandardCharsets.UTF_8).length > FrameCodec.MAX_STRING_BYTES) {
            throw new IllegalArgumentException(what + " name must be 1 to " + FrameCodec.MAX_STRING_BYTES
                    + " UTF-8 bytes");
        }
    }

    @Override
    public CompletableFuture<PublishAck> publish(String stream, byte[] payload) {
        return publish(stream, payload, Frame.NO_EXPECTED_SEQUENCE);
    }

    @Override
    public CompletableFuture<PublishAck> publish(String stream, byte[] payload, long expectedSequence) {
        checkName("stream", stream);
        Objects.requireNonNull(payload, "payload");
        if (expectedSequence < 0) {
            throw new IllegalArgumentException("expectedSequence must be >= 1 (or 0 for none), was " + expectedSequence);
        }
        Frame f = new Frame.Publish(calls.nextId(), stream, expectedSequence, payload);
        return connection.send(calls.newCall(f, true, () -> "PUBLISH on stream '" + stream + "'", a -> {
            Frame.PublishAck ack = (Frame.PublishAck) a;
            return new PublishAck(ack.firstSequence(), ack.count());
        }));
    }

    @Override
    public CompletableFuture<PublishAck> publishBatch(String stream, List<byte[]> payloads) {
        return publishBatch(stream, payloads, Frame.NO_EXPECTED_SEQUENCE);
    }

    @Override
    public CompletableFuture<PublishAck> publishBatch(String stream, List<byte[]> payloads, long expectedSequence) {
        checkName("stream", stream);
        if (payloads.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one message");
        }
        return publishRecords(stream, RecordBatch.of(payloads), expectedSequence);
    }

    private CompletableFuture<PublishAck> publishRecords(String stream, RecordBatch records, long expectedSequence) {
        Frame f = new Frame.PublishBatch(calls.nextId(), stream, expectedSequence, records);
        return connection.send(calls.newCall(f, true, () -> "PUBLISH_BATCH of " + records.count() + " on stream '" + stream + "'", a -> {
            Frame.PublishAck ack = (Frame.PublishAck) a;
            return new PublishAck(ack.firstSequence(), ack.count());
        }));
    }

    @Override
    public CompletableFuture<PublishAck> publish(String stream, byte[] payload, PublishOptions options) {
        Objects.requireNonNull(payload, "payload");
        return publishRecords(stream, RecordBatch.of(payload), options);
    }

    @Override
    public CompletableFuture<PublishAck> publishBatch(String stream, List<byte[]> payloads, PublishOptions options) {
        if (payloads.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one message");
        }
        return publishRecords(stream, RecordBatch.of(payloads), options);
    }

    private CompletableFuture<PublishAck> publishRecords(String stream, RecordBatch records, PublishOptions options) {
        checkName("stream", stream);
        Objects.requireNonNull(options, "options");
        if (!options.idempotent()) {
            return publishRecords(stream, records, options.expectedSequence());
        }
        checkName("producer id", options.producerId());
        Frame f = new Frame.PublishIdempotent(calls.nextId(), stream, options.expectedSequence(),
                options.producerId(), options.producerSequence(), records);
        Call<PublishAck> call = calls.newCall(f, true, () -> "PUBLISH of " + records.count() + " on stream '" + stream
                + "' by producer '" + options.producerId() + "' #" + options.producerSequence(), a -> {
                    Frame.PublishAck ack = (Frame.PublishAck) a;
                    return new PublishAck(ack.firstSequence(), ack.count(), ack.duplicate());
                });
        call.resendable = true;
        return connection.send(call);
    }

    @Override
    public CompletableFuture<FetchResult> fetch(String stream, long fromSequence, int maxMessages) {
        checkName("stream", stream);
        if (fromSequence < 1) {
            throw new IllegalArgumentException("fromSequence must be at least 1, was " + fromSequence);
        }
        if (maxMessages < 0) {
            throw new IllegalArgumentException("maxMessages must be at least 0, was " + maxMessages);
        }
        Frame f = new Frame.Fetch(calls.nextId(), stream, fromSequence, maxMessages);
        return connection.send(calls.newCall(f, false, () -> "FETCH from stream '" + stream + "' at " + fromSequence, a -> {
            Frame.Fetched page = (Frame.Fetched) a;
            RecordBatch records = page.records();
            List<Message> messages = new java.util.ArrayList<>(records.count());
            for (int i = 0; i < records.count(); i++) {
                messages.add(new Message(stream, page.firstSequence() + i, records.payload(i)));
            }
            return new FetchResult(stream, page.firstSequence(), messages, page.lastSequence());
        }));
    }

    @Override
    public CompletableFuture<StreamConsumers> consumers(String stream) {
        checkName("stream", stream);
        return connection.send(calls.newCall(new Frame.Consumers(calls.nextId(), stream), false,
                () -> "CONSUMERS of stream '" + stream + "'", f -> {
                    Frame.ConsumerList l = (Frame.ConsumerList) f;
                    List<ConsumerInfo> list = new java.util.ArrayList<>();
                    for (Frame.ConsumerInfo c : l.consumers()) {
                        list.add(new ConsumerInfo(c.name(), c.ackedSequence(),
                                Math.max(0, l.lastSequence() - c.ackedSequence()), c.maxLag(), c.connected()));
                    }
                    return new StreamConsumers(stream, l.lastSequence(), l.heldPublishes(), l.heldMillis(),
                            l.rejectedPublishes(), List.copyOf(list));
                }));
    }

    @Override
    public CompletableFuture<byte[]> request(String subject, byte[] payload, Duration timeout) {
        checkName("subject", subject);
        Objects.requireNonNull(payload, "payload");
        if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("request timeout must be positive and below 24 days, was " + timeout);
        }
        Frame f = new Frame.Request(calls.nextId(), subject, (int) Math.max(1, timeout.toMillis()), payload);
        // the broker answers TIMEOUT at the deadline; the client's own deadline is a little later
        long clientDeadline = timeout.toNanos() + Math.min(timeout.toNanos(), TimeUnit.SECONDS.toNanos(1));
        return connection.send(calls.newCall(f, true, () -> "REQUEST on subject '" + subject + "'", a -> ((Frame.Response) a).payload(),
                clientDeadline));
    }

    @Override
    public Subscription subscribe(String stream, StartPosition start, MessageHandler handler) {
        Objects.requireNonNull(start, "start");
        return subscribe(stream, SubscribeOptions.from(start), handler);
    }

    @Override
    public Subscription subscribe(String stream, SubscribeOptions subscribeOptions, MessageHandler handler) {
        checkName("stream", stream);
        Objects.requireNonNull(subscribeOptions, "options");
        Objects.requireNonNull(handler, "handler");
        return subscriptions.subscribe(stream, subscribeOptions, handler);
    }

    @Override
    public CompletableFuture<Responder> respond(String subject, RequestHandler handler) {
        checkName("subject", subject);
        Objects.requireNonNull(handler, "handler");
        return responders.register(subject, handler);
    }

    @Override
    public CompletableFuture<StreamPage> streams(String after, int max) {
        Objects.requireNonNull(after, "after");
        if (max < 1 || max > 1000) {
            throw new IllegalArgumentException("max must be 1..1000, was " + max);
        }
        return connection.send(calls.newCall(new Frame.Streams(calls.nextId(), after, max), false,
                () -> "STREAMS after '" + after + "'", f -> {
                    Frame.StreamList l = (Frame.StreamList) f;
                    List<StreamInfo> list = new java.util.ArrayList<>(l.streams().size());
                    for (Frame.StreamInfo i : l.streams()) {
                        list.add(new StreamInfo(i.name(), i.firstSequence(), i.lastSequence(), i.bytes(), i.consumers()));
                    }
                    return new StreamPage(list, l.more());
                }));
    }

    @Override
    public CompletableFuture<Void> deleteStream(String stream) {
        checkName("stream", stream);
        return connection.send(calls.newCall(new Frame.DeleteStream(calls.nextId(), stream), false,
                () -> "DELETE_STREAM '" + stream + "'", f -> null));
    }

    @Override
    public CompletableFuture<Void> trimStream(String stream, long beforeSequence) {
        checkName("stream", stream);
        if (beforeSequence < 1) {
            throw new IllegalArgumentException("beforeSequence must be at least 1, was " + beforeSequence);
        }
        return connection.send(calls.newCall(new Frame.TrimStream(calls.nextId(), stream, beforeSequence), false,
                () -> "TRIM_STREAM '" + stream + "' below " + beforeSequence, f -> null));
    }

    @Override
    public CompletableFuture<Void> deleteConsumer(String stream, String consumer) {
        checkName("stream", stream);
        checkName("consumer", consumer);
        return connection.send(calls.newCall(new Frame.DeleteConsumer(calls.nextId(), stream, consumer), false,
                () -> "DELETE_CONSUMER '" + consumer + "' of stream '" + stream + "'", f -> null));
    }

    @Override
    public String principal() {
        return connection.principal();
    }

    @Override
    public CompletableFuture<dev.wirebus.client.Authentication> authenticate(String token) {
        java.util.Objects.requireNonNull(token, "token");
        connection.useCredentials(() -> token);
        return connection.send(calls.newCall(new Frame.Auth(calls.nextId(), Frame.Auth.BEARER,
                        token.getBytes(java.nio.charset.StandardCharsets.UTF_8)), false, () -> "AUTH",
                        f -> (Frame.AuthOk) f))
                .thenApply(ok -> {
                    connection.authenticated(ok);
                    return new dev.wirebus.client.Authentication(ok.principal(), ok.expiresAtMillis());
                });
    }

    @Override
    public CompletableFuture<Duration> ping() {
        long start = System.nanoTime();
        return connection.send(calls.newCall(new Frame.Ping(calls.nextId()), false, () -> "PING",
                f -> Duration.ofNanos(System.nanoTime() - start)));
    }

    @Override
    public ConnectionState state() {
        return connection.state();
    }

    @Override
    public String address() {
        return connection.target().toString();
    }

    @Override
    public void close() {
        shutdown(null);
    }

    private void shutdown(ConnectionException reason) {
        connection.close(reason);
    }
}
