package dev.wirebus.gateway.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-client-IP counter under contention: never more than its maximum, back to nothing after the last release. */
@Timeout(30)
class ClientCounterTest {
    @Test
    void refusesBeyondTheMaximumPerClientAndCountsClientsApart() throws Exception {
        ClientCounter c = new ClientCounter(2);
        InetAddress one = InetAddress.getByName("10.0.0.1");
        InetAddress two = InetAddress.getByName("10.0.0.2");
        assertThat(c.tryAcquire(one)).isTrue();
        assertThat(c.tryAcquire(one)).isTrue();
        assertThat(c.tryAcquire(one)).isFalse();
        assertThat(c.tryAcquire(two)).isTrue();
        assertThat(c.count(one)).isEqualTo(2);
        c.release(one);
        assertThat(c.tryAcquire(one)).isTrue();
        c.release(one);
        c.release(one);
        c.release(two);
        assertThat(c.count(one)).isZero();
        assertThat(c.count(two)).isZero();
        assertThat(c.tryAcquire(one)).isTrue(); // a client forgotten at zero starts afresh
    }

    @Test
    void aSlotWhoseCounterWasRetiredCountsOnTheClientsCurrentCounter() throws Exception {
        ClientCounter c = new ClientCounter(2);
        InetAddress client = InetAddress.getByName("10.0.0.3");
        ClientCounter.Slot first = new ClientCounter.Slot();
        ClientCounter.Slot second = new ClientCounter.Slot();
        assertThat(c.tryAcquire(client, first)).isTrue();
        c.release(client, first); // to zero: first's counter is retired and leaves the map
        assertThat(c.tryAcquire(client, second)).isTrue(); // a fresh counter
        assertThat(c.tryAcquire(client, first)).isTrue(); // must count on second's counter, not the retired one
        assertThat(c.count(client)).isEqualTo(2);
        assertThat(c.tryAcquire(client)).as("the maximum holds across both slots").isFalse();
        c.release(client, first);
        c.release(client, second);
        assertThat(c.count(client)).isZero();
    }

    @Test
    void concurrentAcquiresAndReleasesNeverExceedTheMaximumAndEndAtZero() throws Exception {
        int max = 3;
        int threads = 8;
        int rounds = 20_000;
        ClientCounter c = new ClientCounter(max);
        InetAddress client = InetAddress.getByName("10.0.0.9");
        AtomicInteger held = new AtomicInteger();
        AtomicInteger worst = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int t = 0; t < threads; t++) {
            boolean useSlot = t % 2 == 0; // connections keep a slot; WebSocket operations look up
            Thread w = new Thread(() -> {
                try {
                    start.await();
                    ClientCounter.Slot slot = useSlot ? new ClientCounter.Slot() : null;
                    for (int i = 0; i < rounds; i++) {
                        if (useSlot ? c.tryAcquire(client, slot) : c.tryAcquire(client)) {
                            worst.accumulateAndGet(held.incrementAndGet(), Math::max);
                            held.decrementAndGet();
                            // often to zero: the counter is retired and made anew under the slots' feet
                            if (useSlot) {
                                c.release(client, slot);
                            } else {
                                c.release(client);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) {
            w.join();
        }
        assertThat(failures).isEmpty();
        assertThat(worst.get()).isBetween(1, max);
        assertThat(c.count(client)).isZero();
        for (int i = 0; i < max; i++) {
            assertThat(c.tryAcquire(client)).isTrue();
        }
        assertThat(c.tryAcquire(client)).isFalse();
    }
}
