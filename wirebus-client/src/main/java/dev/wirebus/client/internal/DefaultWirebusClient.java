package dev.wirebus.client.internal;

import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.FetchResult;
import dev.wirebus.client.Message;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.ProtocolViolationException;
import dev.wirebus.client.PublishAck;
import dev.wirebus.client.Request;
import dev.wirebus.client.RequestHandler;
import dev.wirebus.client.Responder;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.StreamConsumers;
import dev.wirebus.client.SubscribeOptions;
import dev.wirebus.client.ConsumerInfo;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.client.WirebusException;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.protocol.FrameDecoder;
import dev.wirebus.protocol.FrameEncoder;
import dev.wirebus.protocol.ProtocolException;
import dev.wirebus.protocol.RecordBatch;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.DecoderException;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The client: one connection, one I/O thread. Calls from any thread go into an outbound queue that
 * the I/O thread drains into the channel with one flush per drain, so concurrent callers share
 * writes and a lone call is flushed at once. Answers are matched to calls by request id.
 */
public final class DefaultWirebusClient implements WirebusClient {
    private static final Logger log = LoggerFactory.getLogger(DefaultWirebusClient.class);
    private static final int CLIENT_MAX_FRAME_LENGTH = 64 * 1024 * 1024;
    private static final int MAX_QUEUED_REQUESTS = 4096;
    private static final long SWEEP_MILLIS = 20;

    private final ClientOptions options;
    private final ClientOptions.Target target;
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Executor dispatch;
    private final ExecutorService ownedDispatch;
    private final ExecutorService requestDispatch;
    private final ConcurrentHashMap<Long, Call<?>> calls = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Call<?>> deadlines = new ConcurrentLinkedQueue<>();
    private final AtomicInteger deadlinesSize = new AtomicInteger();
    private final java.util.Set<Call<?>> customDeadlines = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentLinkedQueue<Object> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    private final Semaphore inFlight;
    private final Map<Integer, ClientSubscription> subscriptions = new ConcurrentHashMap<>();
    private final AtomicInteger subscriptionIds = new AtomicInteger();
    private final Map<String, ResponderRegistration> responders = new ConcurrentHashMap<>();
    private final AtomicInteger requestsBeingHandled = new AtomicInteger();
    private final CompletableFuture<Void> firstConnect = new CompletableFuture<>();
    private final long requestTimeoutNanos;
    private volatile ConnectionState state = ConnectionState.CONNECTING;
    /** I/O thread: the channel in use once the handshake is done, else null. */
    private Channel channel;
    /** I/O thread: the channel being connected or handshaken. */
    private Channel connecting;
    /** I/O thread: idempotent publishes to send again once reconnected. */
    private final java.util.List<Call<?>> resend = new java.util.ArrayList<>();
    private long helloId;
    /** I/O thread: the store id of the first WELCOME (0 before it). */
    private long storeId;
    /** The protocol version of the current (or last) connection, 0 before the first WELCOME. */
    private volatile int protocolVersion;
    private int attempt;
    private ScheduledFuture<?> sweeper;

    private DefaultWirebusClient(ClientOptions options) {
        this.options = options;
        this.target = ClientOptions.parseAddress(options.address());
        if (options.eventLoop() != null) {
            this.group = null; // the caller's: it outlives this client
            this.loop = options.eventLoop();
        } else {
            this.group = ClientTransport.newGroup("wirebus-client-io");
            this.loop = group.next();
        }
        if (options.dispatchExecutor() != null) {
            this.dispatch = options.dispatchExecutor();
            this.ownedDispatch = null;
        } else {
            this.ownedDispatch = Executors.newCachedThreadPool(daemon("wirebus-dispatch"));
            this.dispatch = ownedDispatch;
        }
        // core = max: a ThreadPoolExecutor only grows past its core size when the queue is full
        java.util.concurrent.ThreadPoolExecutor responders = new java.util.concurrent.ThreadPoolExecutor(16, 16,
                30, TimeUnit.SECONDS, new java.util.concurrent.LinkedBlockingQueue<>(MAX_QUEUED_REQUESTS),
                daemon("wirebus-responder"));
        responders.allowCoreThreadTimeOut(true);
        this.requestDispatch = responders;
        this.inFlight = new Semaphore(options.maxInFlight());
        this.requestTimeoutNanos = options.requestTimeout().toNanos();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Connects and handshakes, or throws a {@link ConnectionException} saying why not. */
    public static DefaultWirebusClient connect(ClientOptions options) {
        DefaultWirebusClient client = new DefaultWirebusClient(options);
        client.loop.execute(client::connectAttempt);
        try {
            client.firstConnect.get(options.connectTimeout().toMillis() + 1000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            client.shutdown(null);
            throw e.getCause() instanceof WirebusException w ? w
                    : new ConnectionException("cannot connect to " + client.target + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            client.shutdown(null);
            throw new ConnectionException("no handshake with " + client.target + " within "
                    + options.connectTimeout().toMillis() + " ms");
        } catch (InterruptedException e) {
            client.shutdown(null);
            Thread.currentThread().interrupt();
            throw new ConnectionException("interrupted while connecting to " + client.target);
        }
        client.sweeper = client.loop.scheduleAtFixedRate(client::sweepDeadlines, SWEEP_MILLIS, SWEEP_MILLIS,
                TimeUnit.MILLISECONDS);
        return client;
    }

    // ---------------------------------------------------------------- connection life (I/O thread)

    private void connectAttempt() {
        if (state == ConnectionState.CLOSED) {
            return;
        }
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(ClientTransport.channelType(target))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new FrameDecoder(CLIENT_MAX_FRAME_LENGTH), ENCODER, new InboundHandler());
                    }
                });
        if (target.tcp() != null) {
            b.option(ChannelOption.TCP_NODELAY, true);
        }
        ChannelFuture f = b.connect(ClientTransport.socketAddress(target));
        connecting = f.channel();
        f.addListener(done -> {
            if (!done.isSuccess()) {
                connectFailed(describeConnectFailure(done.cause()));
                return;
            }
            Channel ch = f.channel();
            helloId = ids.incrementAndGet();
            ch.writeAndFlush(new Frame.Hello(helloId, FrameCodec.MIN_PROTOCOL_VERSION, FrameCodec.PROTOCOL_VERSION,
                    options.name()));
            loop.schedule(() -> {
                if (connecting == ch && channel != ch) {
                    handshakeFailed(ch, new ConnectionException("no WELCOME from " + target + " within "
                            + options.connectTimeout().toMillis() + " ms"));
                }
            }, options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
        });
    }

    private static final FrameEncoder ENCODER = new FrameEncoder();

    private ConnectionException describeConnectFailure(Throwable cause) {
        String why = String.valueOf(cause.getMessage());
        if (target.unixPath() != null) {
            var path = target.unixPath();
            if (!Files.exists(path)) {
                return new ConnectionException("no broker socket at " + path
                        + " (no such file): is 'wirebus serve' running with this --uds path?", cause);
            }
            if (why.contains("ermission denied") || !Files.isWritable(path)) {
                return new ConnectionException("permission denied on " + path
                        + ": the socket file's mode does not let this user connect", cause);
            }
            return new ConnectionException("connection refused at " + path
                    + ": a socket file is there but no broker accepts on it (a stale file?)", cause);
        }
        if (why.contains("refused")) {
            return new ConnectionException("connection refused at " + target + ": is a broker listening there?", cause);
        }
        return new ConnectionException("cannot connect to " + target + ": " + why, cause);
    }

    private void connectFailed(ConnectionException reason) {
        connecting = null;
        if (!firstConnect.isDone()) {
            firstConnect.completeExceptionally(reason);
            return;
        }
        log.debug("reconnect attempt {} to {} failed: {}", attempt, target, reason.getMessage());
        scheduleReconnect(reason);
    }

    private void handshakeFailed(Channel ch, WirebusException reason) {
        if (!firstConnect.isDone()) {
            firstConnect.completeExceptionally(reason);
        } else {
            reportError(reason);
        }
        ch.close();
    }

    @Override
    public int protocolVersion() {
        return protocolVersion;
    }

    private void onWelcome(Channel ch, Frame.Welcome w) {
        if (ch != connecting) {
            ch.close();
            return;
        }
        if (w.version() < FrameCodec.MIN_PROTOCOL_VERSION || w.version() > FrameCodec.PROTOCOL_VERSION) {
            handshakeFailed(ch, new dev.wirebus.client.ProtocolViolationException(ErrorCode.UNSUPPORTED_VERSION,
                    "broker " + target + " chose protocol version " + w.version() + ", outside the offered "
                            + FrameCodec.MIN_PROTOCOL_VERSION + ".." + FrameCodec.PROTOCOL_VERSION));
            return;
        }
        // the frames after WELCOME are in the negotiated version (the decoder pauses after WELCOME)
        ch.attr(FrameCodec.VERSION).set(w.version());
        protocolVersion = w.version();
        connecting = null;
        channel = ch;
        attempt = 0;
        if (storeId != 0 && w.storeId() != storeId) {
            // the broker came back with other streams (an in-memory broker restarted): resuming by
            // sequence would silently skip or repeat, so the subscriptions end, visibly
            WirebusException lost = new dev.wirebus.client.StoreChangedException("broker " + target + " came back with a different store (id "
                    + storeId + " before, " + w.storeId() + " now): the streams' history was lost, so subscriptions "
                    + "cannot resume without a gap; subscribe again explicitly");
            for (ClientSubscription s : subscriptions.values()) {
                s.onEndedByBroker(lost);
            }
        }
        storeId = w.storeId();
        // restore subscriptions and responders before anything queued goes out
        for (ClientSubscription s : subscriptions.values()) {
            if (s.isOpen()) {
                sendSubscribe(s);
            }
        }
        for (ResponderRegistration r : responders.values()) {
            Call<Void> call = newCall(new Frame.RespondOn(ids.incrementAndGet(), r.subject), false,
                    () -> "RESPOND_ON subject '" + r.subject + "'", f -> null);
            call.future.whenComplete((v, e) -> {
                if (e != null) {
                    reportError(e);
                }
            });
            track(call);
            call.written = true;
            ch.write(call.frame, ch.voidPromise());
        }
        // idempotent publishes that were in flight go again, in their original order, before newer ones
        resend.sort(java.util.Comparator.comparingLong(c -> c.id));
        for (Call<?> c : resend) {
            if (!c.done.get()) {
                c.written = true;
                ch.write(c.frame, ch.voidPromise());
            }
        }
        resend.clear();
        ch.flush();
        setState(ConnectionState.CONNECTED);
        firstConnect.complete(null);
        drain();
    }

    private void onDisconnected(Channel ch) {
        if (ch == connecting) {
            connecting = null;
            if (!firstConnect.isDone()) {
                firstConnect.completeExceptionally(new ConnectionException("connection to " + target
                        + " closed during the handshake"));
                return;
            }
        }
        if (ch != channel) {
            if (firstConnect.isDone() && state == ConnectionState.RECONNECTING && connecting == null) {
                scheduleReconnect(new ConnectionException("connection to " + target + " closed during the handshake"));
            }
            return;
        }
        channel = null;
        for (Call<?> c : calls.values()) {
            if (c.written && c.resendable && state != ConnectionState.CLOSED) {
                c.written = false;
                resend.add(c);
                continue;
            }
            if (c.written && calls.remove(c.id, c)) {
                if (c.fail(new ConnectionException("connection to " + target + " lost before " + c.description()
                        + " was answered; its outcome is unknown"))) {
                    releaseSlot(c);
                }
            }
        }
        if (state == ConnectionState.CLOSED) {
            return;
        }
        ConnectionException reason = new ConnectionException("connection to " + target + " lost");
        if (options.reconnectPolicy().maxAttempts() == 0) {
            shutdown(reason);
            return;
        }
        setState(ConnectionState.RECONNECTING);
        scheduleReconnect(reason);
    }

    private void scheduleReconnect(ConnectionException reason) {
        if (state == ConnectionState.CLOSED) {
            return;
        }
        attempt++;
        if (attempt > options.reconnectPolicy().maxAttempts()) {
            shutdown(new ConnectionException("gave up reconnecting to " + target + " after "
                    + (attempt - 1) + " attempts: " + reason.getMessage(), reason));
            return;
        }
        Duration delay = options.reconnectPolicy().delay(attempt);
        loop.schedule(this::connectAttempt, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Drops the connection so the reconnect logic re-establishes everything (used on a detected gap). */
    void forceReconnect() {
        onLoop(() -> {
            if (channel != null) {
                channel.close();
            }
        });
    }

    private void setState(ConnectionState s) {
        if (state != s) {
            state = s;
            try {
                options.listener().onStateChange(s);
            } catch (RuntimeException e) {
                log.warn("connection listener failed on {}", s, e);
            }
        }
    }

    void reportError(Throwable t) {
        try {
            options.listener().onError(t);
        } catch (RuntimeException e) {
            log.warn("connection listener failed on error {}", t.toString(), e);
        }
    }

    /** Handles frames from the broker on the I/O thread. */
    private final class InboundHandler extends SimpleChannelInboundHandler<Frame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame f) {
            Channel ch = ctx.channel();
            switch (f.type()) {
                case WELCOME -> onWelcome(ch, (Frame.Welcome) f);
                case DELIVER -> {
                    Frame.Deliver d = (Frame.Deliver) f;
                    ClientSubscription s = subscriptions.get(d.subscriptionId());
                    if (s != null) {
                        s.onDeliver(d);
                    }
                }
                case SUBSCRIPTION_CLOSED -> {
                    Frame.SubscriptionClosed c = (Frame.SubscriptionClosed) f;
                    ClientSubscription s = subscriptions.get(c.subscriptionId());
                    if (s != null) {
                        s.onEndedByBroker(Errors.of(new Frame.Error(0, c.code(), c.message(), c.fields())));
                    }
                }
                case REQUEST -> onRequest(ch, (Frame.Request) f);
                case PING -> ch.writeAndFlush(new Frame.Pong(f.requestId()));
                case GOAWAY -> {
                    Frame.GoAway g = (Frame.GoAway) f;
                    reportError(new ConnectionException("broker " + target + " is going away: " + g.message()));
                }
                case ERROR -> {
                    if (f.requestId() == helloId && channel != ch) {
                        handshakeFailed(ch, Errors.of((Frame.Error) f));
                    } else if (f.requestId() == 0) {
                        reportError(Errors.of((Frame.Error) f));
                    } else {
                        answer(f);
                    }
                }
                default -> answer(f);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            onDisconnected(ctx.channel());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            Throwable t = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
            if (t instanceof ProtocolException p) {
                reportError(new ProtocolViolationException(p.errorCode(), "broker " + target + " sent a bad frame: "
                        + p.getMessage()));
            } else if (!(t instanceof IOException)) {
                reportError(new ConnectionException("connection to " + target + " failed: " + t, t));
            }
            ctx.close();
        }
    }

    private void answer(Frame f) {
        Call<?> c = calls.remove(f.requestId());
        if (c != null && c.answer(f)) {
            releaseSlot(c);
        }
    }

    // ---------------------------------------------------------------- sending

    private <T> Call<T> newCall(Frame frame, boolean counts, Supplier<String> description, Function<Frame, T> answer) {
        return newCall(frame, counts, description, answer, requestTimeoutNanos);
    }

    private <T> Call<T> newCall(Frame frame, boolean counts, Supplier<String> description, Function<Frame, T> answer,
                                long timeoutNanos) {
        return new Call<>(frame.requestId(), frame, System.nanoTime(), timeoutNanos, counts, description, answer);
    }

    /** Queues a call for the I/O thread, after taking an in-flight slot (waiting up to the call's deadline). */
    private <T> CompletableFuture<T> send(Call<T> call) {
        if (state == ConnectionState.CLOSED) {
            call.fail(new ConnectionException("client for " + target + " is closed"));
            return call.future;
        }
        if (call.countsInFlight && !inFlight.tryAcquire()) {
            boolean acquired = false;
            if (!loop.inEventLoop()) {
                try {
                    acquired = inFlight.tryAcquire(call.deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (!acquired) {
                call.fail(new BackpressureException(options.maxInFlight() + " calls already await answers from "
                        + target + "; " + call.description() + " was not sent"));
                return call.future;
            }
        }
        track(call);
        outbound.add(call);
        scheduleDrain();
        if (state == ConnectionState.CLOSED && calls.remove(call.id, call) && call.fail(
                new ConnectionException("client for " + target + " is closed"))) {
            releaseSlot(call);
        }
        return call.future;
    }

    /** Queues a frame that expects no answer. */
    private void sendOneWay(Frame frame) {
        outbound.add(frame);
        scheduleDrain();
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            onLoop(drainTask);
        }
    }

    /** Runs a task on the I/O thread; after close, when the thread is gone, the task is dropped. */
    private void onLoop(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // the client was closed: nothing is sent any more, and every call has already failed
        }
    }

    private void drain() {
        drainScheduled.set(false);
        Channel ch = channel;
        if (ch == null || state != ConnectionState.CONNECTED) {
            return;
        }
        int n = 0;
        Object o;
        while ((o = outbound.poll()) != null) {
            Frame f;
            if (o instanceof Call<?> c) {
                if (c.done.get()) {
                    continue;
                }
                c.written = true;
                f = c.frame;
            } else {
                f = (Frame) o;
            }
            ch.write(f, ch.voidPromise());
            n++;
        }
        if (n > 0) {
            ch.flush();
        }
    }

    private void releaseSlot(Call<?> c) {
        if (c.countsInFlight) {
            inFlight.release();
        }
    }

    /**
     * Fails calls whose deadline passed. Calls with the default timeout sit in {@link #deadlines} in
     * the order they were made, which is their deadline order, so a sweep stops at the first call
     * not yet due; only calls with a timeout of their own are scanned one by one.
     */
    private void sweepDeadlines() {
        long now = System.nanoTime();
        Call<?> c;
        while ((c = deadlines.peek()) != null) {
            if (!c.done.get() && now - c.deadlineNanos < 0) {
                break;
            }
            if (deadlines.poll() != null) {
                deadlinesSize.decrementAndGet();
            }
            expire(c, now);
        }
        if (deadlinesSize.get() > options.maxInFlight()) {
            // a call that waits long at the head keeps answered calls queued behind it: drop those, so
            // the queue never holds more than the calls still in flight
            for (var it = deadlines.iterator(); it.hasNext(); ) {
                if (it.next().done.get()) {
                    it.remove();
                    deadlinesSize.decrementAndGet();
                }
            }
        }
        for (Call<?> k : customDeadlines) {
            if (k.done.get()) {
                customDeadlines.remove(k);
            } else if (now - k.deadlineNanos >= 0) {
                customDeadlines.remove(k);
                expire(k, now);
            }
        }
    }

    private void expire(Call<?> c, long now) {
        if (!c.done.get() && calls.remove(c.id, c)) {
            long ms = TimeUnit.NANOSECONDS.toMillis(now - c.deadlineNanos);
            if (c.fail(new WirebusTimeoutException("no answer to " + c.description() + " from " + target
                    + " by its deadline" + (c.written ? "" : " (not sent: " + state + ")")
                    + (ms > 100 ? ", " + ms + " ms late" : "")))) {
                releaseSlot(c);
            }
        }
    }

    /** Registers a call for its answer and its deadline. */
    private void track(Call<?> call) {
        calls.put(call.id, call);
        if (call.deadlineNanos - call.createdNanos == requestTimeoutNanos) {
            deadlines.add(call);
            deadlinesSize.incrementAndGet();
        } else {
            customDeadlines.add(call);
        }
    }

    // ---------------------------------------------------------------- API

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
    public CompletableFuture<Long> publish(String stream, byte[] payload) {
        return publish(stream, payload, Frame.NO_EXPECTED_SEQUENCE);
    }

    @Override
    public CompletableFuture<Long> publish(String stream, byte[] payload, long expectedSequence) {
        checkName("stream", stream);
        Objects.requireNonNull(payload, "payload");
        if (expectedSequence < 0) {
            throw new IllegalArgumentException("expectedSequence must be >= 1 (or 0 for none), was " + expectedSequence);
        }
        Frame f = new Frame.Publish(ids.incrementAndGet(), stream, expectedSequence, payload);
        return send(newCall(f, true, () -> "PUBLISH on stream '" + stream + "'", a -> ((Frame.PublishAck) a).firstSequence()));
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

    /** Publishes records already in their wire layout (used by the batching publisher). */
    public CompletableFuture<PublishAck> publishRecords(String stream, RecordBatch records, long expectedSequence) {
        Frame f = new Frame.PublishBatch(ids.incrementAndGet(), stream, expectedSequence, records);
        return send(newCall(f, true, () -> "PUBLISH_BATCH of " + records.count() + " on stream '" + stream + "'", a -> {
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
        Frame f = new Frame.PublishIdempotent(ids.incrementAndGet(), stream, options.expectedSequence(),
                options.producerId(), options.producerSequence(), records);
        Call<PublishAck> call = newCall(f, true, () -> "PUBLISH of " + records.count() + " on stream '" + stream
                + "' by producer '" + options.producerId() + "' #" + options.producerSequence(), a -> {
                    Frame.PublishAck ack = (Frame.PublishAck) a;
                    return new PublishAck(ack.firstSequence(), ack.count(), ack.duplicate());
                });
        call.resendable = true;
        return send(call);
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
        Frame f = new Frame.Fetch(ids.incrementAndGet(), stream, fromSequence, maxMessages);
        return send(newCall(f, false, () -> "FETCH from stream '" + stream + "' at " + fromSequence, a -> {
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
    public Subscription subscribe(String stream, StartPosition start, MessageHandler handler) {
        Objects.requireNonNull(start, "start");
        return subscribe(stream, SubscribeOptions.from(start), handler);
    }

    @Override
    public Subscription subscribe(String stream, SubscribeOptions subscribeOptions, MessageHandler handler) {
        checkName("stream", stream);
        Objects.requireNonNull(subscribeOptions, "options");
        Objects.requireNonNull(handler, "handler");
        ClientSubscription s = new ClientSubscription(this, subscriptionIds.incrementAndGet(), stream, subscribeOptions,
                handler, options.subscriptionWindow(), dispatch);
        if (state == ConnectionState.CLOSED) {
            s.onClientClosed(new ConnectionException("client for " + target + " is closed"));
            return s;
        }
        try {
            // registered and sent on the I/O thread, so a reconnect cannot send it twice
            loop.execute(() -> {
                if (state == ConnectionState.CLOSED) {
                    s.onClientClosed(new ConnectionException("client for " + target + " is closed"));
                    return;
                }
                subscriptions.put(s.id, s);
                if (channel != null && s.isOpen()) {
                    sendSubscribe(s);
                    channel.flush();
                }
                // otherwise the subscription goes out with the others once the connection is back
            });
        } catch (RejectedExecutionException e) {
            s.onClientClosed(new ConnectionException("client for " + target + " is closed"));
        }
        return s;
    }

    /** I/O thread: (re)sends a SUBSCRIBE; the answer confirms it or ends it. */
    private void sendSubscribe(ClientSubscription s) {
        Frame frame = s.subscribeFrame(ids.incrementAndGet());
        Call<Long> call = newCall(frame, false, () -> "SUBSCRIBE to stream '" + s.stream() + "'", s::onSubscribed);
        call.future.whenComplete((v, e) -> {
            if (e instanceof WirebusException w && !(e instanceof ConnectionException)) {
                s.onEndedByBroker(w);
            }
        });
        track(call);
        call.written = true;
        channel.write(frame, channel.voidPromise());
    }

    CompletableFuture<Void> ack(ClientSubscription s, long sequence) {
        return send(newCall(new Frame.Ack(ids.incrementAndGet(), s.id, sequence), false,
                () -> "ACK of " + sequence + " on stream '" + s.stream() + "'", f -> null));
    }

    @Override
    public CompletableFuture<StreamConsumers> consumers(String stream) {
        checkName("stream", stream);
        return send(newCall(new Frame.Consumers(ids.incrementAndGet(), stream), false,
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

    void forget(ClientSubscription s) {
        subscriptions.remove(s.id, s);
    }

    /** Returns credits to the broker for messages the handler finished. Any thread. */
    void grant(ClientSubscription s, int credits) {
        onLoop(() -> {
            if (channel != null && s.isOpen()) {
                channel.writeAndFlush(new Frame.Credit(0, s.id, credits), channel.voidPromise());
            }
        });
    }

    void unsubscribe(ClientSubscription s) {
        subscriptions.remove(s.id, s);
        if (state == ConnectionState.CONNECTED) {
            send(newCall(new Frame.Unsubscribe(ids.incrementAndGet(), s.id), false,
                    () -> "UNSUBSCRIBE from stream '" + s.stream() + "'", f -> null));
        }
    }

    @Override
    public CompletableFuture<byte[]> request(String subject, byte[] payload, Duration timeout) {
        checkName("subject", subject);
        Objects.requireNonNull(payload, "payload");
        if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("request timeout must be positive and below 24 days, was " + timeout);
        }
        Frame f = new Frame.Request(ids.incrementAndGet(), subject, (int) Math.max(1, timeout.toMillis()), payload);
        // the broker answers TIMEOUT at the deadline; the client's own deadline is a little later
        long clientDeadline = timeout.toNanos() + Math.min(timeout.toNanos(), TimeUnit.SECONDS.toNanos(1));
        return send(newCall(f, true, () -> "REQUEST on subject '" + subject + "'", a -> ((Frame.Response) a).payload(),
                clientDeadline));
    }

    @Override
    public CompletableFuture<Responder> respond(String subject, RequestHandler handler) {
        checkName("subject", subject);
        Objects.requireNonNull(handler, "handler");
        ResponderRegistration r = new ResponderRegistration(subject, handler);
        if (responders.putIfAbsent(subject, r) != null) {
            throw new IllegalStateException("this client already responds on subject '" + subject + "'");
        }
        return send(newCall(new Frame.RespondOn(ids.incrementAndGet(), subject), false,
                () -> "RESPOND_ON subject '" + subject + "'", f -> (Responder) r))
                .whenComplete((v, e) -> {
                    if (e != null) {
                        responders.remove(subject, r);
                    }
                });
    }

    /** I/O thread: a request for one of this client's responders. */
    private void onRequest(Channel ch, Frame.Request f) {
        ResponderRegistration r = responders.get(f.subject());
        if (r == null) {
            ch.writeAndFlush(new Frame.Error(f.requestId(), ErrorCode.RESPONDER_FAILED,
                    "this client no longer responds on subject '" + f.subject() + "'"));
            return;
        }
        if (requestsBeingHandled.incrementAndGet() > MAX_QUEUED_REQUESTS) {
            requestsBeingHandled.decrementAndGet();
            ch.writeAndFlush(new Frame.Error(f.requestId(), ErrorCode.BACKPRESSURE,
                    "responder has " + MAX_QUEUED_REQUESTS + " requests queued"));
            return;
        }
        Runnable task = () -> {
            Frame answer;
            try {
                byte[] reply = r.handler.handle(new Request(f.subject(), f.payload()));
                answer = new Frame.Response(f.requestId(), reply == null ? new byte[0] : reply);
            } catch (Exception e) {
                answer = new Frame.Error(f.requestId(), ErrorCode.RESPONDER_FAILED, String.valueOf(e));
            } finally {
                requestsBeingHandled.decrementAndGet();
            }
            sendOneWay(answer);
        };
        try {
            (options.dispatchExecutor() != null ? dispatch : requestDispatch).execute(task);
        } catch (RejectedExecutionException e) {
            requestsBeingHandled.decrementAndGet();
            ch.writeAndFlush(new Frame.Error(f.requestId(), ErrorCode.BACKPRESSURE, "responder is overloaded"));
        }
    }

    private final class ResponderRegistration implements Responder {
        final String subject;
        final RequestHandler handler;

        ResponderRegistration(String subject, RequestHandler handler) {
            this.subject = subject;
            this.handler = handler;
        }

        @Override
        public String subject() {
            return subject;
        }

        @Override
        public void close() {
            if (responders.remove(subject, this) && state == ConnectionState.CONNECTED) {
                send(newCall(new Frame.RespondOff(ids.incrementAndGet(), subject), false,
                        () -> "RESPOND_OFF subject '" + subject + "'", f -> null));
            }
        }
    }

    @Override
    public CompletableFuture<Duration> ping() {
        long start = System.nanoTime();
        return send(newCall(new Frame.Ping(ids.incrementAndGet()), false, () -> "PING",
                f -> Duration.ofNanos(System.nanoTime() - start)));
    }

    @Override
    public ConnectionState state() {
        return state;
    }

    @Override
    public String address() {
        return target.toString();
    }

    @Override
    public void close() {
        shutdown(null);
    }

    private void shutdown(ConnectionException reason) {
        synchronized (this) {
            if (state == ConnectionState.CLOSED) {
                return;
            }
            setState(ConnectionState.CLOSED);
        }
        ConnectionException failure = reason != null ? reason
                : new ConnectionException("client for " + target + " was closed");
        if (!loop.isShuttingDown()) {
            onLoop(() -> {
                if (sweeper != null) {
                    sweeper.cancel(false);
                }
                if (channel != null) {
                    channel.close();
                }
                if (connecting != null) {
                    connecting.close();
                }
            });
        }
        for (Call<?> c : calls.values()) {
            if (calls.remove(c.id, c) && c.fail(failure)) {
                releaseSlot(c);
            }
        }
        outbound.clear();
        for (ClientSubscription s : subscriptions.values()) {
            s.onClientClosed(reason);
        }
        subscriptions.clear();
        if (reason != null) {
            reportError(reason);
        }
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
        requestDispatch.shutdown();
    }
}
