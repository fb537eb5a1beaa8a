package dev.wirebus.server.internal;

import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Time as deadlines see it: the current instant, and a task run once a delay has passed.
 * Production uses {@link System#nanoTime()} and an event loop ({@link #on}); tests inject a clock
 * they move by hand, so a deadline is reached by advancing time, never by sleeping.
 */
public interface DeadlineClock {
    /** A scheduled task that may still be called off. */
    @FunctionalInterface
    interface Deadline {
        /** Calls the task off if it has not run. */
        void cancel();
    }

    /** Now, in nanoseconds from an arbitrary origin (as {@link System#nanoTime()}). */
    long nanoTime();

    /** Runs {@code task} once {@code delayMillis} have passed. */
    Deadline schedule(Runnable task, long delayMillis);

    /** The system clock, running tasks on {@code timers}. */
    static DeadlineClock on(ScheduledExecutorService timers) {
        return new DeadlineClock() {
            @Override
            public long nanoTime() {
                return System.nanoTime();
            }

            @Override
            public Deadline schedule(Runnable task, long delayMillis) {
                Future<?> f = timers.schedule(task, delayMillis, TimeUnit.MILLISECONDS);
                return () -> f.cancel(false);
            }
        };
    }
}
