package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.ConnectionListener;
import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.ProtocolViolationException;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.protocol.FrameDecoder;
import dev.wirebus.protocol.FrameEncoder;
import dev.wirebus.protocol.ProtocolException;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The client's connection to the broker, over its whole life: connect, the HELLO/WELCOME
 * handshake (HELLO/WELCOME, then AUTH when the client has a credential, over TLS for
 * {@code tls://} addresses, see {@link ClientTls}), reconnect with backoff
 * ({@link dev.wirebus.client.ReconnectPolicy}) and failover over the configured addresses, and the
 * write path. Change reconnect, backoff, failover, the handshake and authentication here.
 *
 * <p><b>Addresses and failover.</b> Each connect attempt goes to the next address of the list,
 * round robin: the first connection tries every address once before it fails; after a lost
 * connection the next attempt goes to the address after the one lost, so a dead node is left at
 * once and a single address is simply retried. After every successful handshake the
 * {@link Session} restores subscriptions and responders, then resendable calls (idempotent
 * publishes) go out again, oldest first, then everything queued meanwhile.
 *
 * <p><b>Threads.</b> One I/O thread (an event loop) owns the channel; frames from any thread go
 * through a lock-free outbound queue that the I/O thread drains with one flush per drain, so
 * concurrent callers share writes and a lone call is flushed at once.
 */
final class Connection {
    private static final Logger log = LoggerFactory.getLogger(Connection.class);
    private static final int CLIENT_MAX_FRAME_LENGTH = 64 * 1024 * 1024;
    private static final FrameEncoder ENCODER = new FrameEncoder();
    static final long SWEEP_MILLIS = 20;

    /** What the rest of the client does when the connection comes and goes; I/O thread. */
    interface Session {
        /**
         * A handshake completed on {@code ch}: write (without flushing) what must go before
         * anything else, re-subscriptions and responder registrations. {@code storeChanged} when the
         * broker came back with another store than the one of the first connection.
         */
        void restore(Channel ch, Frame.Welcome welcome, boolean storeChanged);

        /** A frame that is not about the connection itself (answers, deliveries, requests). */
        void onFrame(Channel ch, Frame f);

        /** The connection is closed for good: by {@link #close}, or after the reconnect attempts ran out. */
        void onClosed(ConnectionException reasonOrNullWhenClosedByUser);
    }

    private final ClientOptions options;
    private final List<ClientOptions.Target> targets;
    private final EventLoop loop;
    private final CallTable calls;
    private final ConnectionListener listener;
    private Session session;
    private final CompletableFuture<Void> firstConnect = new CompletableFuture<>();
    private final ConcurrentLinkedQueue<Object> outbound = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    private volatile ConnectionState state = ConnectionState.CONNECTING;
    /** The address in use, or the last one tried. */
    private volatile ClientOptions.Target current;
    /** The protocol version of the current (or last) connection, 0 before the first WELCOME. */
    private volatile int protocolVersion;
    /** I/O thread: the channel in use once the handshake is done, else null. */
    private Channel channel;
    /** I/O thread: the channel being connected or handshaken. */
    private Channel connecting;
    /** I/O thread: idempotent publishes to send again once reconnected. */
    private List<Call<?>> resend = List.of();
    private long helloId;
    /** I/O thread: the AUTH sent after WELCOME (0: none), and the WELCOME that waits for its AUTH_OK. */
    private long authId;
    private Frame.Welcome pendingWelcome;
    /** The principal the broker gave the last AUTH ("" without credentials). */
    private volatile String principal = "";
    /** A credential given by {@link #useCredentials} after the start; replaces the builder's. */
    private volatile Supplier<String> credentialOverride;
    private final ClientTls tls;
    /** I/O thread: the store id of the first WELCOME (0 before it). */
    private long storeId;
    /** I/O thread: attempts in this outage; index of the next address to try; failures in the first connect. */
    private int attempt;
    private int nextTarget;
    private int firstConnectFailures;
    private ScheduledFuture<?> sweeper;

    Connection(ClientOptions options, EventLoop loop, CallTable calls) {
        this.options = options;
        this.targets = options.targets();
        this.current = targets.get(0);
        this.loop = loop;
        this.calls = calls;
        this.listener = options.listener();
        boolean anyTls = targets.stream().anyMatch(ClientOptions.Target::tls);
        this.tls = anyTls ? ClientTls.of(options.security()) : null;
    }

    /** Starts connecting; the future completes after the first handshake or fails saying why. */
    CompletableFuture<Void> start(Session session) {
        this.session = session;
        loop.execute(this::connectAttempt);
        return firstConnect;
    }

    /** Starts the deadline ticker: every {@link #SWEEP_MILLIS} the call table fails calls past their deadline. */
    void startDeadlineTicker() {
        onLoop(() -> {
            if (state != ConnectionState.CLOSED) {
                sweeper = loop.scheduleAtFixedRate(calls::sweep, SWEEP_MILLIS, SWEEP_MILLIS, TimeUnit.MILLISECONDS);
            }
        });
    }

    ConnectionState state() {
        return state;
    }

    int protocolVersion() {
        return protocolVersion;
    }

    /** The address in use (or last tried). */
    ClientOptions.Target target() {
        return current;
    }

    EventLoop loop() {
        return loop;
    }

    /** I/O thread: the handshaken channel, or null while (re)connecting. */
    Channel channel() {
        return channel;
    }

    // ---------------------------------------------------------------- connect, handshake (I/O thread)

    private void connectAttempt() {
        if (state == ConnectionState.CLOSED) {
            return;
        }
        authId = 0;
        pendingWelcome = null;
        ClientOptions.Target target = targets.get(nextTarget % targets.size());
        nextTarget = (nextTarget + 1) % targets.size();
        current = target;
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(ClientTransport.channelType(target))
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (target.tls()) {
                            SslHandler ssl = tls.newHandler(ch.alloc(), target.tcp().getHostString(), target.tcp().getPort());
                            ssl.handshakeFuture().addListener(h -> {
                                if (!h.isSuccess() && connecting == ch) {
                                    handshakeFailed(ch, ClientTls.handshakeFailure(target, h.cause()));
                                }
                            });
                            ch.pipeline().addLast(ssl);
                        }
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
                connectFailed(describeConnectFailure(target, done.cause()));
                return;
            }
            Channel ch = f.channel();
            helloId = calls.nextId();
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

    private static ConnectionException describeConnectFailure(ClientOptions.Target target, Throwable cause) {
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
            // the first connection tries every address once before it gives up
            if (++firstConnectFailures < targets.size()) {
                log.debug("connect to {} failed, trying the next address: {}", current, reason.getMessage());
                loop.execute(this::connectAttempt);
                return;
            }
            firstConnect.completeExceptionally(targets.size() == 1 ? reason : new ConnectionException(
                    "cannot connect to any of " + targets + "; last: " + reason.getMessage(), reason));
            return;
        }
        log.debug("reconnect attempt {} to {} failed: {}", attempt, current, reason.getMessage());
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

    private void onWelcome(Channel ch, Frame.Welcome w) {
        if (ch != connecting) {
            ch.close();
            return;
        }
        if (w.version() < FrameCodec.MIN_PROTOCOL_VERSION || w.version() > FrameCodec.PROTOCOL_VERSION) {
            handshakeFailed(ch, new ProtocolViolationException(ErrorCode.UNSUPPORTED_VERSION,
                    "broker " + current + " chose protocol version " + w.version() + ", outside the offered "
                            + FrameCodec.MIN_PROTOCOL_VERSION + ".." + FrameCodec.PROTOCOL_VERSION));
            return;
        }
        // the frames after WELCOME are in the negotiated version (the decoder pauses after WELCOME)
        ch.attr(FrameCodec.VERSION).set(w.version());
        protocolVersion = w.version();
        Supplier<String> credentials = credentials();
        if (credentials != null) {
            // AUTH before anything else; the connection goes live on AUTH_OK
            String token;
            try {
                token = Objects.requireNonNull(credentials.get(), "the credential supplier returned null");
            } catch (RuntimeException e) {
                handshakeFailed(ch, new ConnectionException("no credential for " + current + ": " + e.getMessage(), e));
                return;
            }
            authId = calls.nextId();
            pendingWelcome = w;
            ch.writeAndFlush(new Frame.Auth(authId, Frame.Auth.BEARER, token.getBytes(StandardCharsets.UTF_8)));
            return;
        }
        goLive(ch, w);
    }

    /** I/O thread: AUTH_OK for the AUTH sent after WELCOME. */
    private void onAuthOk(Channel ch, Frame.AuthOk ok) {
        Frame.Welcome w = pendingWelcome;
        pendingWelcome = null;
        authId = 0;
        principal = ok.principal();
        goLive(ch, w);
        scheduleRefresh(ch, ok.expiresAtMillis());
    }

    /**
     * A credential that expires is replaced before it does: at 80 % of its remaining life a fresh
     * one from the supplier goes in a new AUTH on the same connection.
     */
    private void scheduleRefresh(Channel ch, long expiresAtMillis) {
        if (expiresAtMillis <= 0) {
            return;
        }
        long left = expiresAtMillis - System.currentTimeMillis();
        long delay = Math.max(1, left * 8 / 10);
        loop.schedule(() -> {
            if (channel != ch || state == ConnectionState.CLOSED) {
                return;
            }
            String token;
            try {
                token = credentials().get();
            } catch (RuntimeException e) {
                reportError(new ConnectionException("no fresh credential for " + current + ": " + e.getMessage(), e));
                return;
            }
            Call<Frame.AuthOk> call = calls.newCall(new Frame.Auth(calls.nextId(), Frame.Auth.BEARER,
                    token.getBytes(StandardCharsets.UTF_8)), false, () -> "AUTH (refresh)", f -> (Frame.AuthOk) f);
            call.future.whenComplete((ok, e) -> {
                if (e != null) {
                    reportError(e);
                } else {
                    principal = ok.principal();
                    onLoop(() -> scheduleRefresh(ch, ok.expiresAtMillis()));
                }
            });
            writeNow(ch, call);
            ch.flush();
        }, delay, TimeUnit.MILLISECONDS);
    }

    String principal() {
        return principal;
    }

    /** The credential AUTH presents: the one given last by {@link #useCredentials}, else the builder's (or null). */
    private Supplier<String> credentials() {
        Supplier<String> override = credentialOverride;
        return override != null ? override : options.security().credentials();
    }

    /** From now on (reconnects and refreshes too) AUTH presents {@code credentials}. */
    void useCredentials(Supplier<String> credentials) {
        credentialOverride = Objects.requireNonNull(credentials, "credentials");
    }

    /** An AUTH sent on the open connection was accepted: remember its principal, refresh before expiry. */
    void authenticated(Frame.AuthOk ok) {
        principal = ok.principal();
        onLoop(() -> {
            Channel ch = channel;
            if (ch != null) {
                scheduleRefresh(ch, ok.expiresAtMillis());
            }
        });
    }

    /** I/O thread: the handshake (and AUTH) is done: restore, resend, go. */
    private void goLive(Channel ch, Frame.Welcome w) {
        connecting = null;
        channel = ch;
        attempt = 0;
        firstConnectFailures = 0;
        boolean storeChanged = storeId != 0 && w.storeId() != storeId;
        storeId = w.storeId();
        // restore subscriptions and responders before anything queued goes out
        session.restore(ch, w, storeChanged);
        // idempotent publishes that were in flight go again, in their original order, before newer ones
        for (Call<?> c : resend) {
            if (!c.done.get()) {
                c.written = true;
                ch.write(c.frame, ch.voidPromise());
            }
        }
        resend = List.of();
        ch.flush();
        setState(ConnectionState.CONNECTED);
        firstConnect.complete(null);
        drain();
    }

    // ---------------------------------------------------------------- loss and reconnect (I/O thread)

    private void onDisconnected(Channel ch) {
        if (ch == connecting) {
            connecting = null;
            if (!firstConnect.isDone()) {
                firstConnect.completeExceptionally(new ConnectionException("connection to " + current
                        + " closed during the handshake"));
                return;
            }
        }
        if (ch != channel) {
            if (firstConnect.isDone() && state == ConnectionState.RECONNECTING && connecting == null) {
                scheduleReconnect(new ConnectionException("connection to " + current + " closed during the handshake"));
            }
            return;
        }
        channel = null;
        if (state == ConnectionState.CLOSED) {
            return;
        }
        List<Call<?>> again = calls.connectionLost(current.toString());
        if (!again.isEmpty()) {
            List<Call<?>> all = new java.util.ArrayList<>(resend);
            all.addAll(again);
            all.sort(java.util.Comparator.comparingLong(c -> c.id));
            resend = all;
        }
        ConnectionException reason = new ConnectionException("connection to " + current + " lost");
        if (options.reconnectPolicy().maxAttempts() == 0) {
            closeFor(reason);
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
            closeFor(new ConnectionException("gave up reconnecting to " + describeTargets() + " after "
                    + (attempt - 1) + " attempts: " + reason.getMessage(), reason));
            return;
        }
        Duration delay = options.reconnectPolicy().delay(attempt);
        loop.schedule(this::connectAttempt, delay.toNanos(), TimeUnit.NANOSECONDS);
    }

    private String describeTargets() {
        return targets.size() == 1 ? targets.get(0).toString() : targets.toString();
    }

    /** Drops the connection so the reconnect logic re-establishes everything (used on a detected gap). */
    void forceReconnect() {
        onLoop(() -> {
            if (channel != null) {
                channel.close();
            }
        });
    }

    // ---------------------------------------------------------------- writing

    /**
     * Sends a call: takes its in-flight slot (or fails it at once, see {@link CallTable#admit}),
     * then queues it for the I/O thread. Any thread; never blocks.
     */
    <T> CompletableFuture<T> send(Call<T> call) {
        if (state == ConnectionState.CLOSED) {
            call.fail(closedException());
            return call.future;
        }
        if (!calls.admit(call)) {
            return call.future;
        }
        outbound.add(call);
        scheduleDrain();
        if (state == ConnectionState.CLOSED) {
            calls.fail(call, closedException());
        }
        return call.future;
    }

    /** Queues a frame that expects no answer. Any thread. */
    void sendOneWay(Frame frame) {
        outbound.add(frame);
        scheduleDrain();
    }

    /** I/O thread: tracks a call and writes it on {@code ch} now (restoring state on a new connection); no flush. */
    void writeNow(Channel ch, Call<?> call) {
        calls.track(call);
        call.written = true;
        ch.write(call.frame, ch.voidPromise());
    }

    ConnectionException closedException() {
        return new ConnectionException("client for " + current + " is closed");
    }

    private void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            onLoop(drainTask);
        }
    }

    /** Runs a task on the I/O thread; after close, when the thread is gone, the task is dropped. */
    void onLoop(Runnable task) {
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

    // ---------------------------------------------------------------- state, errors, close

    private void setState(ConnectionState s) {
        if (state != s) {
            state = s;
            try {
                listener.onStateChange(s);
            } catch (RuntimeException e) {
                log.warn("connection listener failed on {}", s, e);
            }
        }
    }

    void reportError(Throwable t) {
        try {
            listener.onError(t);
        } catch (RuntimeException e) {
            log.warn("connection listener failed on error {}", t.toString(), e);
        }
    }

    /** Closes for good (the user closed: {@code reason} null); the session hears of it once. Any thread. */
    void close(ConnectionException reason) {
        closeFor(reason);
    }

    private void closeFor(ConnectionException reason) {
        synchronized (this) {
            if (state == ConnectionState.CLOSED) {
                return;
            }
            setState(ConnectionState.CLOSED);
        }
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
        outbound.clear();
        session.onClosed(reason);
    }

    /** Handles frames from the broker on the I/O thread. */
    private final class InboundHandler extends SimpleChannelInboundHandler<Frame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, Frame f) {
            Channel ch = ctx.channel();
            switch (f.type()) {
                case WELCOME -> onWelcome(ch, (Frame.Welcome) f);
                case AUTH_OK -> {
                    if (ch == connecting && authId != 0 && f.requestId() == authId) {
                        onAuthOk(ch, (Frame.AuthOk) f);
                    } else {
                        session.onFrame(ch, f);
                    }
                }
                case PING -> ch.writeAndFlush(new Frame.Pong(f.requestId()));
                case GOAWAY -> {
                    Frame.GoAway g = (Frame.GoAway) f;
                    reportError(new ConnectionException("broker " + current + " is going away: " + g.message()));
                }
                case ERROR -> {
                    if ((f.requestId() == helloId || f.requestId() == authId) && channel != ch) {
                        handshakeFailed(ch, Errors.of((Frame.Error) f));
                    } else if (f.requestId() == 0) {
                        reportError(Errors.of((Frame.Error) f));
                    } else {
                        session.onFrame(ch, f);
                    }
                }
                default -> session.onFrame(ch, f);
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
                reportError(new ProtocolViolationException(p.errorCode(), "broker " + current + " sent a bad frame: "
                        + p.getMessage()));
            } else if (!(t instanceof IOException)) {
                reportError(new ConnectionException("connection to " + current + " failed: " + t, t));
            }
            ctx.close();
        }
    }
}
