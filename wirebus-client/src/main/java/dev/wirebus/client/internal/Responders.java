package dev.wirebus.client.internal;

import dev.wirebus.client.ConnectionState;
import dev.wirebus.client.Request;
import dev.wirebus.client.RequestHandler;
import dev.wirebus.client.Responder;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import io.netty.channel.Channel;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The subjects this client responds on: registering (RESPOND_ON) and unregistering (RESPOND_OFF),
 * re-registering every one after a reconnect, and running the handlers for incoming requests
 * with a bounded number queued ({@link #MAX_QUEUED_REQUESTS}; beyond it the broker hears
 * BACKPRESSURE at once). Change request handling for responders here.
 */
final class Responders {
    static final int MAX_QUEUED_REQUESTS = 4096;

    private final Connection connection;
    private final CallTable calls;
    /** Runs handlers: the user's dispatch executor, or a pool of ours (bounded queue). */
    private final Executor handlers;
    private final ExecutorService ownPool;
    private final Map<String, Registration> registered = new ConcurrentHashMap<>();
    private final AtomicInteger beingHandled = new AtomicInteger();

    /** {@code userExecutor} null: handlers run on a pool of 16 daemon threads of this client's. */
    Responders(Connection connection, CallTable calls, Executor userExecutor) {
        this.connection = connection;
        this.calls = calls;
        if (userExecutor != null) {
            this.handlers = userExecutor;
            this.ownPool = null;
        } else {
            // core = max: a ThreadPoolExecutor only grows past its core size when the queue is full
            ThreadPoolExecutor pool = new ThreadPoolExecutor(16, 16, 30, TimeUnit.SECONDS,
                    new LinkedBlockingQueue<>(MAX_QUEUED_REQUESTS), DefaultWirebusClient.daemon("wirebus-responder"));
            pool.allowCoreThreadTimeOut(true);
            this.handlers = pool;
            this.ownPool = pool;
        }
    }

    /** Registers {@code handler} on {@code subject}; completes when the broker confirmed, else forgets it. */
    CompletableFuture<Responder> register(String subject, RequestHandler handler) {
        Registration r = new Registration(subject, handler);
        if (registered.putIfAbsent(subject, r) != null) {
            throw new IllegalStateException("this client already responds on subject '" + subject + "'");
        }
        return connection.send(calls.newCall(new Frame.RespondOn(calls.nextId(), subject), false,
                        () -> "RESPOND_ON subject '" + subject + "'", f -> (Responder) r))
                .whenComplete((v, e) -> {
                    if (e != null) {
                        registered.remove(subject, r);
                    }
                });
    }

    /** I/O thread, after a handshake: registers every subject again (a failure goes to {@code errors}). No flush. */
    void restore(Channel ch, Consumer<Throwable> errors) {
        for (Registration r : registered.values()) {
            Call<Void> call = calls.newCall(new Frame.RespondOn(calls.nextId(), r.subject), false,
                    () -> "RESPOND_ON subject '" + r.subject + "'", f -> null);
            call.future.whenComplete((v, e) -> {
                if (e != null) {
                    errors.accept(e);
                }
            });
            connection.writeNow(ch, call);
        }
    }

    /** I/O thread: a request for one of this client's subjects; the answer goes back on {@code ch}'s connection. */
    void onRequest(Channel ch, Frame.Request f) {
        Registration r = registered.get(f.subject());
        if (r == null) {
            ch.writeAndFlush(new Frame.Error(f.requestId(), ErrorCode.RESPONDER_FAILED,
                    "this client no longer responds on subject '" + f.subject() + "'"));
            return;
        }
        if (beingHandled.incrementAndGet() > MAX_QUEUED_REQUESTS) {
            beingHandled.decrementAndGet();
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
                beingHandled.decrementAndGet();
            }
            connection.sendOneWay(answer);
        };
        try {
            handlers.execute(task);
        } catch (RejectedExecutionException e) {
            beingHandled.decrementAndGet();
            ch.writeAndFlush(new Frame.Error(f.requestId(), ErrorCode.BACKPRESSURE, "responder is overloaded"));
        }
    }

    int size() {
        return registered.size();
    }

    void shutdown() {
        if (ownPool != null) {
            ownPool.shutdown();
        }
    }

    private final class Registration implements Responder {
        final String subject;
        final RequestHandler handler;

        Registration(String subject, RequestHandler handler) {
            this.subject = subject;
            this.handler = handler;
        }

        @Override
        public String subject() {
            return subject;
        }

        @Override
        public void close() {
            if (registered.remove(subject, this) && connection.state() == ConnectionState.CONNECTED) {
                connection.send(calls.newCall(new Frame.RespondOff(calls.nextId(), subject), false,
                        () -> "RESPOND_OFF subject '" + subject + "'", f -> null));
            }
        }
    }
}
