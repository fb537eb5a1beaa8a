package dev.wirebus.gateway.internal;

import io.netty.channel.EventLoop;
import io.netty.util.internal.PlatformDependent;

import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The {@link SubscriberOutbox}es of one event loop's connections that have frames to write, drained
 * together by one task of that loop. A live message fans out to a thousand subscribers in a burst:
 * one task (and at most one wake-up of the loop) per burst instead of one per subscriber. Outboxes
 * are drained in the order they became ready; a run drains at most {@value #MAX_PER_RUN} of them
 * and then yields to the loop's I/O and other tasks.
 */
final class OutboxDrains implements Runnable {
    private static final int MAX_PER_RUN = 4096;

    private final EventLoop loop;
    private final Queue<SubscriberOutbox> ready = PlatformDependent.newMpscQueue();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    OutboxDrains(EventLoop loop) {
        this.loop = loop;
    }

    /** The event loop this drains on. */
    EventLoop loop() {
        return loop;
    }

    /** {@code outbox} has frames to write (it asks once until it was drained). Any thread. */
    void add(SubscriberOutbox outbox) {
        ready.add(outbox);
        if (scheduled.compareAndSet(false, true)) {
            try {
                loop.execute(this);
            } catch (RejectedExecutionException e) {
                // the gateway stopped: its connections are closed, nothing is written any more
            }
        }
    }

    @Override
    public void run() {
        scheduled.set(false); // an outbox added from here on schedules another run
        for (int i = 0; i < MAX_PER_RUN; i++) {
            SubscriberOutbox o = ready.poll();
            if (o == null) {
                return;
            }
            o.drain();
        }
        if (!ready.isEmpty() && scheduled.compareAndSet(false, true)) {
            loop.execute(this);
        }
    }
}
