package dev.wirebus.gateway.internal;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-loop deadline queue on a real event loop: what is queued expires, in order; what is removed never does. */
@Timeout(10)
class DeadlineQueueTest {
    private static final long TIMEOUT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private final EventLoop loop = new DefaultEventLoop();
    private final List<String> expired = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Named extends DeadlineQueue.Entry {
        final String name;
        final CountDownLatch done;
        long addedNanos;
        long expiredAfterNanos = -1;

        Named(String name, CountDownLatch done) {
            this.name = name;
            this.done = done;
        }

        /** Adds this entry, noting when: its deadline is counted from this moment. */
        void addTo(DeadlineQueue q) {
            addedNanos = System.nanoTime();
            q.add(this);
        }

        @Override
        protected void expired() {
            assertThat(loop.inEventLoop()).isTrue();
            expiredAfterNanos = System.nanoTime() - addedNanos;
            expired.add(name);
            done.countDown();
        }
    }

    @Test
    void entriesExpireInTheOrderAddedNoSoonerThanTheTimeoutAndRemovedOnesNever() throws Exception {
        DeadlineQueue q = new DeadlineQueue(loop, TIMEOUT_NANOS);
        CountDownLatch done = new CountDownLatch(2);
        Named a = new Named("a", done);
        Named removed = new Named("removed", done);
        Named b = new Named("b", done);
        loop.submit(() -> {
            a.addTo(q);
            removed.addTo(q);
            b.addTo(q);
            q.remove(removed);
            assertThat(q.size()).isEqualTo(2);
        }).sync();

        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        // "removed" was due before b: had it stayed queued it would be between a and b
        assertThat(expired).containsExactly("a", "b");
        assertThat(a.expiredAfterNanos).isGreaterThanOrEqualTo(TIMEOUT_NANOS);
        assertThat(b.expiredAfterNanos).isGreaterThanOrEqualTo(TIMEOUT_NANOS);
        assertThat(a.queued()).isFalse();
        assertThat(removed.queued()).isFalse();
        assertThat(loop.submit(q::size).get()).isZero();
    }

    @Test
    void anEntryAddedAgainGetsAFreshDeadlineBehindTheOthers() throws Exception {
        DeadlineQueue q = new DeadlineQueue(loop, TIMEOUT_NANOS);
        CountDownLatch done = new CountDownLatch(2);
        Named first = new Named("first", done);
        Named second = new Named("second", done);
        loop.submit(() -> {
            first.addTo(q);
            second.addTo(q);
            first.addTo(q); // a keep-alive connection starting its next request: its clock starts over
            assertThat(q.size()).isEqualTo(2);
        }).sync();

        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(expired).containsExactly("second", "first");
    }

    @Test
    void anEntryRemovedBeforeItsDeadlineLeavesTheQueueEmptyAndLaterEntriesStillExpire() throws Exception {
        DeadlineQueue q = new DeadlineQueue(loop, TIMEOUT_NANOS);
        CountDownLatch never = new CountDownLatch(1);
        Named answered = new Named("answered", never);
        loop.submit(() -> {
            answered.addTo(q);
            q.remove(answered);
            q.remove(answered); // twice is harmless
        }).sync();
        // the wake-up scheduled for "answered" must find nothing, and must not stop a later entry's
        CountDownLatch done = new CountDownLatch(1);
        Named later = new Named("later", done);
        loop.submit(() -> later.addTo(q)).sync();

        assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(expired).containsExactly("later");
    }
}
