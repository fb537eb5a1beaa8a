package dev.wirebus.bench;

import picocli.CommandLine.Option;

/**
 * Knobs of the loaded benchmarks: the batching publisher, publishBatch windows, subscribers. The
 * defaults suit a 2-core machine: one producer thread and one publisher worker (each more is one
 * more thread wanting a core the broker and client I/O threads need).
 */
final class LoadOptions {
    @Option(names = "--producers", defaultValue = "1", description = "Threads calling BatchingPublisher.send (default: ${DEFAULT-VALUE}).")
    int producers;

    @Option(names = "--workers", defaultValue = "1", description = "BatchingPublisher workers, one connection each (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(names = "--batch", defaultValue = "1000",
            description = "Messages per PUBLISH_BATCH: the publisher's maxBatchMessages and the publishBatch window's batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--in-flight", defaultValue = "8",
            description = "Batches awaiting acknowledgement per connection: the publisher's maxInFlightBatches and the publishBatch window (default: ${DEFAULT-VALUE}).")
    int inFlight;

    @Option(names = "--queue", defaultValue = "65536", description = "BatchingPublisher queue capacity in messages (default: ${DEFAULT-VALUE}).")
    int queue;

    @Option(names = "--variants", defaultValue = "publisher,batch", split = ",",
            description = "publish-throughput variants: publisher (BatchingPublisher), batch (WirebusClient.publishBatch"
                    + " windows), idempotent (the batch windows as an idempotent producer)"
                    + " (default: ${DEFAULT-VALUE}).")
    java.util.List<String> variants;

    @Option(names = "--sub-window", defaultValue = "4096",
            description = "Subscription window (credits) of each subscriber (default: ${DEFAULT-VALUE}, the client's default).")
    int subWindow;

    @Option(names = "--rate", defaultValue = "0",
            description = "end-to-end: publish at this many msg/s, stamping each message with its intended send time"
                    + " (no coordinated omission); 0 = as fast as possible, where latency is mostly queueing (default: ${DEFAULT-VALUE}).")
    long rate;

    @Option(names = "--max-lag", defaultValue = "200000",
            description = "end-to-end/fanout: the producer waits while this many messages are published but not yet"
                    + " delivered (to the slowest subscriber), so no subscriber falls behind the broker's retention (default: ${DEFAULT-VALUE}).")
    long maxLag;

    @Option(names = "--subscribers", defaultValue = "100", description = "fanout: subscribers (default: ${DEFAULT-VALUE}).")
    int subscribers;

    @Option(names = "--subscriber-clients", defaultValue = "0",
            description = "fanout: client connections the subscribers are spread over; 0 = one per subscriber (default: ${DEFAULT-VALUE}).")
    int subscriberClients;

    void validate() {
        if (producers < 1 || workers < 1 || batch < 1 || inFlight < 1 || queue < 1 || subWindow < 2 || maxLag < 1
                || subscribers < 1 || subscriberClients < 0 || rate < 0) {
            throw new IllegalArgumentException("--producers, --workers, --batch, --in-flight, --queue, --max-lag and"
                    + " --subscribers must be at least 1, --sub-window at least 2, --rate and --subscriber-clients not negative");
        }
        for (String v : variants) {
            if (!v.equals("publisher") && !v.equals("batch") && !v.equals("idempotent")) {
                throw new IllegalArgumentException("--variants takes publisher, batch, idempotent; got " + v);
            }
        }
    }
}
