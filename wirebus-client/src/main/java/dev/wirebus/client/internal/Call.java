package dev.wirebus.client.internal;

import dev.wirebus.protocol.Frame;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One request awaiting its answer: the frame to send, its deadline, and how to turn the answer
 * into the caller's result. Ends exactly once. Made by {@link CallTable#newCall}.
 */
final class Call<T> {
    final long id;
    final Frame frame;
    final long createdNanos;
    final long deadlineNanos;
    final boolean countsInFlight;
    /** Has the default deadline (the table keeps those in deadline order). */
    final boolean defaultDeadline;
    final CompletableFuture<T> future = new CompletableFuture<>();
    final AtomicBoolean done = new AtomicBoolean();
    private final Function<Frame, T> answer;
    private final Supplier<String> description;
    /** Set on the I/O thread once the frame went to a channel. */
    volatile boolean written;
    /** Runs once when the call ends, before its future completes (gives the in-flight slot back). */
    Runnable onEnd;
    /** Safe to send again on a new connection (an idempotent publish): resent instead of failed on a lost connection. */
    boolean resendable;

    Call(long id, Frame frame, long createdNanos, long timeoutNanos, boolean defaultDeadline, boolean countsInFlight,
         Supplier<String> description, Function<Frame, T> answer) {
        this.id = id;
        this.frame = frame;
        this.createdNanos = createdNanos;
        this.deadlineNanos = createdNanos + timeoutNanos;
        this.defaultDeadline = defaultDeadline;
        this.countsInFlight = countsInFlight;
        this.description = description;
        this.answer = answer;
    }

    /** What this call is, for error messages: "PUBLISH on stream 'blocks'". */
    String description() {
        return description.get();
    }

    /** Completes from an answer frame; true if this ended the call. */
    boolean answer(Frame f) {
        if (!done.compareAndSet(false, true)) {
            return false;
        }
        ended();
        if (f instanceof Frame.Error e) {
            future.completeExceptionally(Errors.of(e));
            return true;
        }
        try {
            future.complete(answer.apply(f));
        } catch (RuntimeException ex) {
            future.completeExceptionally(ex);
        }
        return true;
    }

    /** Fails the call; true if this ended it. */
    boolean fail(Throwable t) {
        if (!done.compareAndSet(false, true)) {
            return false;
        }
        ended();
        future.completeExceptionally(t);
        return true;
    }

    /** So that a caller woken by the future finds the slot already free. */
    private void ended() {
        Runnable r = onEnd;
        if (r != null) {
            r.run();
        }
    }
}
