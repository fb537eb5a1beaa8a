package dev.wirebus.testing.mockbroker;

import dev.wirebus.protocol.Frame;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * A frame the mock broker received and holds unanswered until the test releases it: the way to
 * answer out of order, or late, without sleeping. Made by {@link MockBroker#enqueueHeld}.
 */
public final class Held {
    private final CompletableFuture<Arrival> arrived = new CompletableFuture<>();

    private record Arrival(Frame frame, MockBroker.Peer peer) {
    }

    Action action() {
        return (f, peer) -> arrived.complete(new Arrival(f, peer));
    }

    /** The held frame, waiting up to {@code timeout} for it to arrive. */
    public Frame frame(Duration timeout) {
        return arrival(timeout).frame();
    }

    /** Answers the held frame now with what {@code answer} makes of it (on the connection it came on). */
    public void release(Function<Frame, ? extends Frame> answer, Duration timeout) {
        Arrival a = arrival(timeout);
        a.peer().send(answer.apply(a.frame()));
    }

    /** Runs {@code action} on the held frame now (close the connection, send GOAWAY, ...). */
    public void release(Action action, Duration timeout) {
        Arrival a = arrival(timeout);
        a.peer().run(() -> action.run(a.frame(), a.peer()));
    }

    private Arrival arrival(Duration timeout) {
        try {
            return arrived.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no frame arrived for the held answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting for a held frame");
        }
    }
}
