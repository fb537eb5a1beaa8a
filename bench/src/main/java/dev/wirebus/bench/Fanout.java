package dev.wirebus.bench;

import dev.wirebus.client.BatchingPublisher;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One publisher, {@code --subscribers} subscribers of the same stream spread over
 * {@code --subscriber-clients} connections (default one each): messages delivered per second summed
 * over all subscribers, and the slowest subscriber's rate.
 */
final class Fanout implements Workload {
    static final String NAME = "fanout";
    private static final String STREAM = "bench.fanout";

    private final BenchOptions o;
    private final List<WirebusClient> clients = new ArrayList<>();
    private final List<Subscription> subs = new ArrayList<>();
    private final AtomicLong[] delivered;
    private final BatchingPublisher pub;
    private final Load load = new Load();

    Fanout(BenchOptions o, LoadOptions l, String address) {
        this.o = o;
        int n = l.subscribers;
        int c = l.subscriberClients == 0 ? n : Math.min(n, l.subscriberClients);
        delivered = new AtomicLong[n];
        BatchingPublisher p = null;
        try {
            for (int i = 0; i < c; i++) {
                clients.add(WirebusClient.builder().address(address).name("bench-fanout-" + i)
                        .subscriptionWindow(l.subWindow).requestTimeout(o.timeout).connect());
            }
            for (int i = 0; i < n; i++) {
                AtomicLong count = delivered[i] = new AtomicLong();
                Subscription s = clients.get(i % c).subscribe(STREAM, StartPosition.latest(), m -> count.incrementAndGet());
                s.closed().whenComplete((v, t) -> {
                    if (t != null) {
                        load.fail(new BenchException("the broker ended a subscription: " + t.getMessage(), t));
                    }
                });
                subs.add(s);
            }
            for (Subscription s : subs) {
                Waits.await(s.started(), o.timeout, "SUBSCRIBED");
            }
            p = Producer.publisher(o, l, address, load);
        } catch (RuntimeException e) {
            clients.forEach(WirebusClient::close);
            throw e;
        }
        this.pub = p;
        load.start("bench-producer", new Producer(pub, STREAM, Math.max(8, o.size), 0, l.maxLag, this::slowest, load,
                o.timeout));
    }

    private long slowest() {
        long min = Long.MAX_VALUE;
        for (AtomicLong d : delivered) {
            min = Math.min(min, d.get());
        }
        return min;
    }

    private long[] snapshot() {
        long[] s = new long[delivered.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = delivered[i].get();
        }
        return s;
    }

    @Override
    public Sample measure(Duration window) {
        load.check();
        long[] s0 = snapshot();
        long a0 = pub.ackedCount();
        long t0 = System.nanoTime();
        Waits.sleep(window);
        long[] s1 = snapshot();
        long a1 = pub.ackedCount();
        double secs = (System.nanoTime() - t0) / 1e9;
        load.check();
        long total = 0;
        long min = Long.MAX_VALUE;
        for (int i = 0; i < s0.length; i++) {
            total += s1[i] - s0[i];
            min = Math.min(min, s1[i] - s0[i]);
        }
        return new Sample().put(Sample.RATE, total / secs).put("slowest_sub_" + Sample.RATE, min / secs)
                .put("published_" + Sample.RATE, (a1 - a0) / secs);
    }

    @Override
    public void close() {
        try {
            load.stop(o.timeout);
            pub.flush(o.timeout);
        } finally {
            pub.close();
            subs.forEach(Subscription::close);
            clients.forEach(WirebusClient::close);
        }
    }
}
