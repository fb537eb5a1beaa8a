package dev.wirebus.server.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A {@link DeadlineClock} that moves only when the test says: {@link #advance} runs what fell due. */
final class ManualClock implements DeadlineClock {
    private final List<Task> tasks = new ArrayList<>();
    private long nanos = 1_000_000_000L;
    private long order;

    private final class Task implements Deadline {
        final long dueNanos;
        final long seq = order++;
        final Runnable run;

        Task(long dueNanos, Runnable run) {
            this.dueNanos = dueNanos;
            this.run = run;
        }

        @Override
        public void cancel() {
            tasks.remove(this);
        }
    }

    @Override
    public long nanoTime() {
        return nanos;
    }

    @Override
    public Deadline schedule(Runnable task, long delayMillis) {
        Task t = new Task(nanos + TimeUnit.MILLISECONDS.toNanos(delayMillis), task);
        tasks.add(t);
        return t;
    }

    /** Moves time on by {@code millis}, running every task that falls due, in due order. */
    void advance(long millis) {
        long until = nanos + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            Task next = tasks.stream().filter(t -> t.dueNanos <= until)
                    .min(Comparator.comparingLong((Task t) -> t.dueNanos).thenComparingLong(t -> t.seq)).orElse(null);
            if (next == null) {
                break;
            }
            tasks.remove(next);
            nanos = Math.max(nanos, next.dueNanos);
            next.run.run();
        }
        nanos = until;
    }

    /** Tasks scheduled and neither run nor cancelled. */
    int pending() {
        return tasks.size();
    }
}
