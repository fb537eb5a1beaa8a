package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import io.netty.util.concurrent.ScheduledFuture;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Routes requests to responders and responses back to requesters. Each request gets a broker-wide
 * id of its own; the responder answers with that id and the router puts the requester's id back,
 * so requests from any number of connections never mix. Each pending request ends exactly once:
 * by its response, the responder's error, the deadline, the responder's disconnect, or shutdown.
 */
public final class RequestRouter {
    private static final int MAX_PENDING_PER_CONNECTION = 10_000;
    private final ConcurrentHashMap<String, Responders> bySubject = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Pending> pending = new ConcurrentHashMap<>();
    /** Notified when the last pending request ends. */
    private final Object drained = new Object();
    private final AtomicLong ids = new AtomicLong();
    private final long maxTimeoutMillis;
    private final BrokerMetrics metrics;

    public RequestRouter(long maxTimeoutMillis, BrokerMetrics metrics) {
        this.maxTimeoutMillis = maxTimeoutMillis;
        this.metrics = metrics;
    }

    private static final class Responders {
        final CopyOnWriteArrayList<Connection> connections = new CopyOnWriteArrayList<>();
        final AtomicInteger next = new AtomicInteger();

        Connection pick() {
            List<Connection> snapshot = connections;
            int n = snapshot.size();
            if (n == 0) {
                return null;
            }
            for (int attempt = 0; attempt < n; attempt++) {
                Connection c = connections.get(Math.floorMod(next.getAndIncrement(), n));
                if (c.channel().isActive()) {
                    return c;
                }
            }
            return null;
        }
    }

    private static final class Pending {
        final long id;
        final Connection requester;
        final long requesterRequestId;
        final Connection responder;
        final String subject;
        final long startNanos = System.nanoTime();
        final AtomicBoolean done = new AtomicBoolean();
        volatile ScheduledFuture<?> timer;

        Pending(long id, Connection requester, long requesterRequestId, Connection responder, String subject) {
            this.id = id;
            this.requester = requester;
            this.requesterRequestId = requesterRequestId;
            this.responder = responder;
            this.subject = subject;
        }
    }

    /** Registers a connection as responder for a subject. */
    public void register(String subject, Connection c) {
        StreamRegistry.checkName("subject", subject);
        Responders r = bySubject.computeIfAbsent(subject, s -> new Responders());
        r.connections.addIfAbsent(c);
        c.subjects().add(subject);
    }

    /** Removes a connection from a subject's responders. */
    public void unregister(String subject, Connection c) {
        Responders r = bySubject.get(subject);
        if (r != null) {
            r.connections.remove(c);
        }
        c.subjects().remove(subject);
    }

    /** Routes a request from {@code requester}; answers it with an error when it cannot be routed. */
    public void request(Connection requester, Frame.Request f) {
        try {
            StreamRegistry.checkName("subject", f.subject());
        } catch (BrokerException e) {
            metrics.request(BrokerMetrics.RequestOutcome.INVALID);
            throw e;
        }
        if (f.timeoutMillis() <= 0) {
            metrics.request(BrokerMetrics.RequestOutcome.INVALID);
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "request timeout must be positive, was "
                    + f.timeoutMillis() + " ms");
        }
        if (requester.pendingRequests().size() >= MAX_PENDING_PER_CONNECTION) {
            metrics.request(BrokerMetrics.RequestOutcome.BACKPRESSURE);
            throw new BrokerException(ErrorCode.BACKPRESSURE, "this connection has " + MAX_PENDING_PER_CONNECTION
                    + " requests in flight; wait for answers before sending more",
                    dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.RETRY_AFTER_MILLIS,
                            Stream.BACKPRESSURE_RETRY_AFTER_MILLIS));
        }
        Responders r = bySubject.get(f.subject());
        Connection responder = r == null ? null : r.pick();
        if (responder == null) {
            metrics.request(BrokerMetrics.RequestOutcome.NO_RESPONDERS);
            throw new BrokerException(ErrorCode.NO_RESPONDERS, "no responder for subject '" + f.subject() + "'");
        }
        if (!responder.channel().isWritable()) {
            // the responder is not reading what it was sent: do not pile more on it
            metrics.request(BrokerMetrics.RequestOutcome.BACKPRESSURE);
            throw new BrokerException(ErrorCode.BACKPRESSURE, "the responder for subject '" + f.subject()
                    + "' is not keeping up; try again later",
                    dev.wirebus.protocol.ErrorFields.of(dev.wirebus.protocol.ErrorFields.RETRY_AFTER_MILLIS,
                            Stream.BACKPRESSURE_RETRY_AFTER_MILLIS));
        }
        long timeout = Math.min(f.timeoutMillis(), maxTimeoutMillis);
        Pending p = new Pending(ids.incrementAndGet(), requester, f.requestId(), responder, f.subject());
        pending.put(p.id, p);
        requester.pendingRequests().add(p.id);
        responder.pendingRequests().add(p.id);
        p.timer = requester.channel().eventLoop().schedule(() -> finish(p, new Frame.Error(p.requesterRequestId,
                ErrorCode.TIMEOUT, "no response on subject '" + p.subject + "' within " + timeout + " ms"),
                BrokerMetrics.RequestOutcome.TIMEOUT), timeout, TimeUnit.MILLISECONDS);
        responder.channel().writeAndFlush(new Frame.Request(p.id, f.subject(), (int) timeout, f.payload()));
    }

    /** A responder's RESPONSE; ignored when the request already ended (late answers). */
    public void response(Connection responder, Frame.Response f) {
        Pending p = pending.get(f.requestId());
        if (p != null && p.responder == responder) {
            finish(p, new Frame.Response(p.requesterRequestId, f.payload()), BrokerMetrics.RequestOutcome.ANSWERED);
        }
    }

    /** A responder's ERROR for a request; true when it answered a pending request. */
    public boolean responderError(Connection responder, Frame.Error f) {
        Pending p = pending.get(f.requestId());
        if (p == null || p.responder != responder) {
            return false;
        }
        finish(p, new Frame.Error(p.requesterRequestId, ErrorCode.RESPONDER_FAILED,
                truncated("responder on subject '" + p.subject + "' failed: " + f.message())),
                BrokerMetrics.RequestOutcome.RESPONDER_FAILED);
        return true;
    }

    /** Ends what a closed connection was part of: its responders, and requests either way. */
    public void connectionClosed(Connection c) {
        for (String subject : c.subjects()) {
            Responders r = bySubject.get(subject);
            if (r != null) {
                r.connections.remove(c);
            }
        }
        for (Long id : c.pendingRequests()) {
            Pending p = pending.get(id);
            if (p == null) {
                continue;
            }
            if (p.responder == c) {
                finish(p, new Frame.Error(p.requesterRequestId, ErrorCode.RESPONDER_GONE,
                        "responder on subject '" + p.subject + "' disconnected before answering"),
                        BrokerMetrics.RequestOutcome.RESPONDER_GONE);
            } else {
                finish(p, null, BrokerMetrics.RequestOutcome.REQUESTER_GONE);
            }
        }
    }

    /** Fails every pending request (shutdown). */
    public void failAll(ErrorCode code, String message) {
        for (Pending p : pending.values()) {
            finish(p, new Frame.Error(p.requesterRequestId, code, message), BrokerMetrics.RequestOutcome.SHUTDOWN);
        }
    }

    /** Requests routed and not yet ended. */
    public int inFlight() {
        return pending.size();
    }

    /**
     * Waits until every routed request has ended (answered, failed or timed out), at most
     * {@code within}; shutdown's grace period.
     *
     * @return whether none is left
     */
    public boolean awaitDrained(java.time.Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        synchronized (drained) {
            while (!pending.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(drained, left);
            }
        }
        return true;
    }

    private void finish(Pending p, Frame answer, BrokerMetrics.RequestOutcome outcome) {
        if (!p.done.compareAndSet(false, true)) {
            return;
        }
        if (outcome == BrokerMetrics.RequestOutcome.ANSWERED) {
            metrics.answered(p.startNanos);
        } else {
            metrics.request(outcome);
        }
        pending.remove(p.id);
        ScheduledFuture<?> t = p.timer;
        if (t != null) {
            t.cancel(false);
        }
        p.requester.pendingRequests().remove(p.id);
        p.responder.pendingRequests().remove(p.id);
        if (answer != null && p.requester.channel().isActive()) {
            if (answer instanceof Frame.Error e) {
                metrics.error(ErrorCode.of(e.code()));
            }
            p.requester.channel().writeAndFlush(answer);
        }
        if (pending.isEmpty()) {
            // after the answer is queued on the requester's channel: shutdown closes it behind the answer
            synchronized (drained) {
                drained.notifyAll();
            }
        }
    }

    /**
     * Most UTF-8 bytes of a RESPONDER_FAILED message: a responder's message (up to 65535 bytes) with
     * the broker's prefix could exceed the string limit or the smallest maximum frame length (1024).
     */
    static final int MAX_FORWARDED_MESSAGE_BYTES = 900;

    static String truncated(String message) {
        byte[] utf8 = message.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (utf8.length <= MAX_FORWARDED_MESSAGE_BYTES) {
            return message;
        }
        int end = MAX_FORWARDED_MESSAGE_BYTES - 3;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80) {
            end--; // not inside a character
        }
        return new String(utf8, 0, end, java.nio.charset.StandardCharsets.UTF_8) + "...";
    }
}
