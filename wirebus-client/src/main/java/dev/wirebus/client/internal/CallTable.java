package dev.wirebus.client.internal;

import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.WirebusTimeoutException;
import dev.wirebus.protocol.Frame;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The calls awaiting answers, matched by request id: where request ids are made, where the
 * in-flight window is enforced, where deadlines fire and where it is decided which calls are
 * sent again after a lost connection. Change deadlines and the in-flight window here.
 *
 * <p><b>In-flight window.</b> At most {@code maxInFlight} counted calls (publishes and requests)
 * await answers at once. A call beyond it is never queued and its caller never blocks: the call
 * fails at once with {@link BackpressureException} (fail fast), so an async caller on any thread,
 * an event loop included, keeps running and decides itself whether to retry, shed or slow down.
 *
 * <p><b>Deadlines</b> are read from an injected {@link Clock}; {@link #sweep()} fails every call
 * whose deadline passed with {@link WirebusTimeoutException}. The connection calls it from a
 * periodic ticker on the I/O thread; tests call it after moving their clock.
 *
 * <p><b>Resends.</b> When the connection is lost, calls already written fail with
 * {@link ConnectionException} (their outcome is unknown), except resendable ones (idempotent
 * publishes) which {@link #connectionLost} hands back, oldest first, to be written again on the
 * next connection until their deadline. Calls not yet written simply wait for the next connection.
 *
 * <p>Thread-safe: calls are made on any thread, answered and swept on the I/O thread.
 */
final class CallTable {
    private final ConcurrentHashMap<Long, Call<?>> calls = new ConcurrentHashMap<>();
    /** Calls with the default deadline, in the order made: that is their deadline order. */
    private final ConcurrentLinkedQueue<Call<?>> deadlines = new ConcurrentLinkedQueue<>();
    private final AtomicInteger deadlinesSize = new AtomicInteger();
    private final Set<Call<?>> customDeadlines = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    private final Semaphore inFlight;
    private final int maxInFlight;
    private final long defaultTimeoutNanos;
    private final Clock clock;
    /** Where calls go, for error messages ("tcp://127.0.0.1:7440"), and the connection state when not sent. */
    private final Supplier<String> peer;
    private final Supplier<String> state;

    CallTable(int maxInFlight, long defaultTimeoutNanos, Clock clock, Supplier<String> peer, Supplier<String> state) {
        this.maxInFlight = maxInFlight;
        this.inFlight = new Semaphore(maxInFlight);
        this.defaultTimeoutNanos = defaultTimeoutNanos;
        this.clock = clock;
        this.peer = peer;
        this.state = state;
    }

    /** A fresh request id (never 0). */
    long nextId() {
        return ids.incrementAndGet();
    }

    /** A call with the default deadline. */
    <T> Call<T> newCall(Frame frame, boolean countsInFlight, Supplier<String> description, Function<Frame, T> answer) {
        return new Call<>(frame.requestId(), frame, clock.nanoTime(), defaultTimeoutNanos, true, countsInFlight,
                description, answer);
    }

    /** A call with a deadline of its own, {@code timeoutNanos} from now. */
    <T> Call<T> newCall(Frame frame, boolean countsInFlight, Supplier<String> description, Function<Frame, T> answer,
                        long timeoutNanos) {
        return new Call<>(frame.requestId(), frame, clock.nanoTime(), timeoutNanos, timeoutNanos == defaultTimeoutNanos,
                countsInFlight, description, answer);
    }

    /**
     * Takes an in-flight slot for a counted call and tracks it; when the window is full the call
     * fails at once with {@link BackpressureException} and this returns false. Never blocks.
     */
    boolean admit(Call<?> call) {
        if (call.countsInFlight) {
            if (!inFlight.tryAcquire()) {
                call.fail(new BackpressureException(maxInFlight + " calls already await answers from " + peer.get()
                        + "; " + call.description() + " was not sent (maxInFlight)"));
                return false;
            }
            call.onEnd = inFlight::release; // runs once, before the caller sees the future complete
        }
        track(call);
        return true;
    }

    /** Registers a call for its answer and its deadline (no slot taken: for calls that do not count). */
    void track(Call<?> call) {
        calls.put(call.id, call);
        if (call.defaultDeadline) {
            deadlines.add(call);
            deadlinesSize.incrementAndGet();
        } else {
            customDeadlines.add(call);
        }
    }

    /** Ends the call {@code f} answers; false when no call waits for that id (late, or never made). */
    boolean answer(Frame f) {
        Call<?> c = calls.remove(f.requestId());
        return c != null && c.answer(f);
    }

    /** Fails one call if it is still in the table (a call abandoned before it was sent). */
    void fail(Call<?> c, Throwable t) {
        if (calls.remove(c.id, c)) {
            c.fail(t);
        }
    }

    /**
     * The connection was lost: written calls fail with {@link ConnectionException}, except
     * resendable ones, which are returned oldest first (marked unwritten) to be sent again.
     */
    List<Call<?>> connectionLost(String peerName) {
        List<Call<?>> resend = new ArrayList<>();
        for (Call<?> c : calls.values()) {
            if (!c.written) {
                continue;
            }
            if (c.resendable && !c.done.get()) {
                c.written = false;
                resend.add(c);
                continue;
            }
            fail(c, new ConnectionException("connection to " + peerName + " lost before " + c.description()
                    + " was answered; its outcome is unknown"));
        }
        resend.sort(Comparator.comparingLong(c -> c.id));
        return resend;
    }

    /** Fails every call (the client closed). */
    void failAll(Throwable t) {
        for (Call<?> c : calls.values()) {
            fail(c, t);
        }
        deadlines.clear();
        deadlinesSize.set(0);
        customDeadlines.clear();
    }

    /**
     * Fails calls whose deadline passed. Calls with the default deadline are in deadline order, so
     * the sweep stops at the first one not yet due; calls with their own deadline are scanned.
     */
    void sweep() {
        long now = clock.nanoTime();
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
        if (deadlinesSize.get() > maxInFlight) {
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
        if (c.done.get()) {
            return;
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(now - c.deadlineNanos);
        fail(c, new WirebusTimeoutException("no answer to " + c.description() + " from " + peer.get()
                + " by its deadline" + (c.written ? "" : " (not sent: " + state.get() + ")")
                + (ms > 100 ? ", " + ms + " ms late" : "")));
    }

    /** Calls awaiting answers (for tests and diagnostics). */
    int size() {
        return calls.size();
    }

    /** Free in-flight slots. */
    int freeSlots() {
        return inFlight.availablePermits();
    }
}
