package dev.wirebus.bench;

import dev.wirebus.client.WirebusClient;

import java.time.Duration;

/**
 * One caller publishing one message at a time and waiting for its acknowledgement: the round trip
 * client -> broker (append) -> client, as {@code WirebusClient.publish(...).get()} sees it. Closed
 * loop: the next publish starts when the previous ack arrived, so there is no queueing, and
 * percentiles are of service time (no coordinated-omission correction applies or is made).
 */
final class PublishLatency implements Workload {
    static final String NAME = "publish-latency";

    private final BenchOptions o;
    private final WirebusClient client;
    private final byte[] payload;
    private final boolean spin;

    PublishLatency(BenchOptions o, String address) {
        this.o = o;
        this.spin = o.spin();
        this.payload = new byte[o.size];
        this.client = WirebusClient.builder().address(address).name("bench-publish-latency")
                .requestTimeout(o.timeout).connect();
    }

    @Override
    public Sample measure(Duration window) {
        return Sample.closedLoop(window,
                () -> Waits.await(client.publish("bench.latency", payload), o.timeout, spin, "publish ack"));
    }

    @Override
    public void close() {
        client.close();
    }
}
