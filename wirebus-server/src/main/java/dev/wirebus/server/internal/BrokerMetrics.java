package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The broker's meters, in one {@link MeterRegistry}. Names follow Micrometer's style (dots; a
 * Prometheus registry renders {@code wirebus.messages.published} as
 * {@code wirebus_messages_published_total}).
 *
 * <p>Cost: the hot paths touch a counter or a timer once per frame or per drain (never per record)
 * and allocate nothing; every meter that reads broker state (connections, stream positions, held
 * publishes, consumer lag, fsyncs) is a gauge or function counter evaluated only when the registry
 * is read, taking the stream's lock then. Tags are bounded: error code, request outcome, publish
 * kind, stream and durable consumer names.
 *
 * <p>One broker per registry: the meters are removed from the registry when the broker closes.
 * Thread-safe.
 */
public final class BrokerMetrics {
    /** How a routed (or refused) request ended; the {@code outcome} tag of {@code wirebus.requests}. */
    public enum RequestOutcome {
        /** The responder's RESPONSE went back to the requester. */
        ANSWERED,
        /** The responder answered with an ERROR. */
        RESPONDER_FAILED,
        /** No answer within the request's timeout. */
        TIMEOUT,
        /** No responder on the subject. */
        NO_RESPONDERS,
        /** The responder disconnected before answering. */
        RESPONDER_GONE,
        /** The requester disconnected before the answer. */
        REQUESTER_GONE,
        /** Refused: too many in flight, or the responder is not keeping up. */
        BACKPRESSURE,
        /** Refused: a bad subject or timeout. */
        INVALID,
        /** Failed by a broker shutdown. */
        SHUTDOWN;

        final String tag = name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Why a connection was refused at accept; the {@code reason} tag of {@code wirebus.connections.refused}. */
    public enum Refusal {
        /** The broker holds {@code maxConnections} connections. */
        MAX_CONNECTIONS,
        /** The peer (uid on the Unix socket, IP on TCP) holds {@code maxConnectionsPerPeer}. */
        MAX_CONNECTIONS_PER_PEER;

        final String tag = name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Why the broker closed a connection by a limit; the {@code reason} tag of {@code wirebus.connections.closed}. */
    public enum Closure {
        /** Above the output high-water mark for longer than the slow-consumer timeout. */
        SLOW_CONSUMER,
        /** An answer would have taken the queued output past the hard cap. */
        OUTPUT_CAP,
        /** A frame did not complete within the frame read timeout. */
        FRAME_TIMEOUT,
        /** A large frame did not fit the broker-wide budget for partly received frames. */
        PARTIAL_FRAME_BUDGET,
        /** No subscription, responder, call in flight or frame for the idle timeout. */
        IDLE;

        final String tag = name().toLowerCase(java.util.Locale.ROOT);
    }

    private final MeterRegistry registry;
    private final Counter[] refused = new Counter[Refusal.values().length];
    private final Counter[] closed = new Counter[Closure.values().length];
    private final List<Meter> brokerMeters = new ArrayList<>();
    private final Map<Stream, List<Meter>> streamMeters = new ConcurrentHashMap<>();

    private final Counter connectionsOpened;
    private final Counter publishedPlain;
    private final Counter publishedIdempotent;
    private final Counter duplicates;
    private final Counter delivered;
    private final Timer publishLatency;
    private final Timer requestLatency;
    /** Set by {@link #bind} for disk storage, before any committer reports a sync. */
    private Timer fsyncLatency;
    private final Counter[] errors = new Counter[ErrorCode.values().length];
    private final Counter[] requests = new Counter[RequestOutcome.values().length];

    /** Registers the broker-wide meters; {@link #bind} adds those that read the broker's state. */
    public BrokerMetrics(MeterRegistry registry) {
        this.registry = registry;
        connectionsOpened = keep(Counter.builder("wirebus.connections.opened")
                .description("Client connections accepted").register(registry));
        publishedPlain = keep(published("plain"));
        publishedIdempotent = keep(published("idempotent"));
        duplicates = keep(Counter.builder("wirebus.publishes.duplicate")
                .description("Idempotent publishes answered as duplicates of an earlier append (nothing appended)")
                .register(registry));
        delivered = keep(Counter.builder("wirebus.messages.delivered")
                .description("Records delivered to subscribers").register(registry));
        publishLatency = keep(latency("wirebus.publish.latency",
                "From a publish frame read to its acknowledgement written (fsync waits included)"));
        requestLatency = keep(latency("wirebus.request.latency",
                "From a request routed to its response sent back (answered requests)"));
        for (ErrorCode code : ErrorCode.values()) {
            errors[code.ordinal()] = keep(Counter.builder("wirebus.errors")
                    .description("ERROR and SUBSCRIPTION_CLOSED frames sent, by error code")
                    .tag("code", code.name()).register(registry));
        }
        for (Refusal r : Refusal.values()) {
            refused[r.ordinal()] = keep(Counter.builder("wirebus.connections.refused")
                    .description("Connections refused at accept with CONNECTION_LIMIT, by limit")
                    .tag("reason", r.tag).register(registry));
        }
        for (Closure c : Closure.values()) {
            closed[c.ordinal()] = keep(Counter.builder("wirebus.connections.closed")
                    .description("Connections the broker closed because they passed a limit, by limit")
                    .tag("reason", c.tag).register(registry));
        }
        for (RequestOutcome o : RequestOutcome.values()) {
            requests[o.ordinal()] = keep(Counter.builder("wirebus.requests")
                    .description("Requests received, by how they ended").tag("outcome", o.tag).register(registry));
        }
    }

    /** A registry that records nothing, for brokers built without one and for tests. */
    public static BrokerMetrics none() {
        return new BrokerMetrics(new io.micrometer.core.instrument.composite.CompositeMeterRegistry());
    }

    /**
     * A timer with a percentile histogram from 10 µs (a publish acknowledged from memory takes tens
     * of microseconds; Micrometer's default floor of 1 ms would put them all in one bucket) to 30 s.
     */
    private Timer latency(String name, String description) {
        return Timer.builder(name).description(description).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(10_000)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
    }

    private Counter published(String kind) {
        return Counter.builder("wirebus.messages.published")
                .description("Records appended to streams, by kind of publish")
                .tag("kind", kind).register(registry);
    }

    private <M extends Meter> M keep(M meter) {
        synchronized (brokerMeters) {
            brokerMeters.add(meter);
        }
        return meter;
    }

    /** Registers the gauges over the broker's connections and storage. */
    void bind(BrokerContext broker) {
        keep(Gauge.builder("wirebus.connections", broker.connections(), java.util.Set::size)
                .description("Open client connections").register(registry));
        keep(Gauge.builder("wirebus.frames.partial.bytes", broker.partialFrames(), PartialFrameBudget::reserved)
                .description("Bytes reserved by frames received in part, against the broker-wide budget")
                .baseUnit("bytes").register(registry));
        StreamRegistry streams = broker.streams();
        keep(Gauge.builder("wirebus.streams", streams, StreamRegistry::size)
                .description("Streams that exist (stored on disk, or in memory)").register(registry));
        keep(Gauge.builder("wirebus.streams.awaited", streams, StreamRegistry::awaitedCount)
                .description("Streams that do not exist, awaited by subscribers (no files)").register(registry));
        keep(Gauge.builder("wirebus.streams.limit", streams, StreamRegistry::maxStreams)
                .description("Most streams the broker creates (max-streams)").register(registry));
        keep(FunctionCounter.builder("wirebus.streams.refused", streams, StreamRegistry::refusedByLimit)
                .description("Publishes and subscriptions refused with STREAM_LIMIT").register(registry));
        if (broker.config().storage() == dev.wirebus.server.BrokerConfig.Storage.DISK) {
            StorageHealth health = broker.storageHealth();
            keep(Gauge.builder("wirebus.storage.open.files", health, StorageHealth::openFiles)
                    .description("Stream files open now (segments, indexes, visible marks)").register(registry));
            keep(FunctionCounter.builder("wirebus.storage.files.closed", health, StorageHealth::filesClosedByBudget)
                    .description("Times a stream's files were closed to stay within max-open-files").register(registry));
            keep(FunctionCounter.builder("wirebus.storage.recovery.cuts.below.visible", health,
                            StorageHealth::cutsBelowVisible)
                    .description("Streams whose recovery at start cut records that had been visible to clients")
                    .register(registry));
            keep(FunctionCounter.builder("wirebus.storage.epoch.changes", health, StorageHealth::epochChanges)
                    .description("Store id changes at start because recovery cut visible records").register(registry));
            keep(FunctionCounter.builder("wirebus.storage.quarantined.files", health, StorageHealth::quarantinedFiles)
                    .description("Files recovery moved damaged or dropped bytes into (quarantine/)").register(registry));
            keep(FunctionCounter.builder("wirebus.storage.damaged.position.files", health,
                            StorageHealth::damagedPositionFiles)
                    .description("Damaged consumer-position files found (named in the log)").register(registry));
            keep(FunctionCounter.builder("wirebus.storage.fsyncs", broker.streams(), StreamRegistry::syncCount)
                    .description("fsync calls on stream segments and directories").register(registry));
            fsyncLatency = keep(latency("wirebus.storage.fsync.latency",
                    "One stream log sync by a group committer (fdatasync of the segments written since the last)"));
        }
    }

    // ------------------------------------------------------------------ hot paths

    /** A connection was accepted. */
    void connectionOpened() {
        connectionsOpened.increment();
    }

    /** A connection was refused at accept. */
    void refused(Refusal reason) {
        refused[reason.ordinal()].increment();
    }

    /** A connection refusal's ERROR CONNECTION_LIMIT is being sent. */
    public void refusedWithError() {
        error(ErrorCode.CONNECTION_LIMIT);
    }

    /** The broker closed a connection that passed a limit. */
    void closed(Closure reason) {
        closed[reason.ordinal()].increment();
    }

    /** {@code count} records of one publish frame were appended. */
    void published(boolean idempotent, int count) {
        (idempotent ? publishedIdempotent : publishedPlain).increment(count);
    }

    /** An idempotent publish was answered as a duplicate. */
    void duplicate() {
        duplicates.increment();
    }

    /** A publish read at {@code startNanos} ({@link System#nanoTime()}) was just acknowledged. */
    void acknowledged(long startNanos) {
        publishLatency.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    /** {@code count} records were delivered to a subscriber. */
    void delivered(int count) {
        delivered.increment(count);
    }

    /** An ERROR or SUBSCRIPTION_CLOSED with this code is being sent. */
    void error(ErrorCode code) {
        errors[code.ordinal()].increment();
    }

    /** A request ended (or was refused) this way. */
    void request(RequestOutcome outcome) {
        requests[outcome.ordinal()].increment();
    }

    /** A request routed at {@code startNanos} was answered by its responder. */
    void answered(long startNanos) {
        requests[RequestOutcome.ANSWERED.ordinal()].increment();
        requestLatency.record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
    }

    /** A sync that reached the disk took this long; for the group committers. */
    public void fsync(long nanos) {
        Timer t = fsyncLatency;
        if (t != null) {
            t.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    // ------------------------------------------------------------------ streams and consumers

    /** Registers a stream's meters (and its durable consumers'), and those of consumers added later. */
    void streamOpened(Stream stream) {
        Tags tags = Tags.of("stream", stream.name());
        List<Meter> meters = new ArrayList<>();
        meters.add(Gauge.builder("wirebus.stream.last.sequence", stream, Stream::lastSequence)
                .description("Last sequence appended to the stream").tags(tags).register(registry));
        meters.add(Gauge.builder("wirebus.stream.publishes.held", stream, Stream::heldPublishes)
                .description("Publishes held back by a gating consumer").tags(tags).register(registry));
        meters.add(FunctionCounter.builder("wirebus.stream.publishes.held.time", stream, Stream::heldSeconds)
                .description("Time publishes spent held back by a gating consumer, summed over the publishes")
                .baseUnit("seconds").tags(tags).register(registry));
        meters.add(FunctionCounter.builder("wirebus.stream.publishes.gate.rejected", stream, Stream::gateRejected)
                .description("Publishes failed by a gating consumer (held too long, or too many held)")
                .tags(tags).register(registry));
        meters.add(Gauge.builder("wirebus.stream.subscribers", stream, Stream::subscribers)
                .description("Open subscriptions (plain and durable consumers') on the stream")
                .tags(tags).register(registry));
        streamMeters.put(stream, meters);
        stream.onConsumerAdded(consumer -> consumerAdded(stream, consumer));
    }

    private void consumerAdded(Stream stream, String consumer) {
        Tags tags = Tags.of("stream", stream.name(), "consumer", consumer);
        Meter lag = Gauge.builder("wirebus.consumer.lag", stream, s -> s.consumerLag(consumer))
                .description("Records appended after the consumer's acknowledged sequence").tags(tags)
                .register(registry);
        Meter acked = Gauge.builder("wirebus.consumer.acked.sequence", stream, s -> s.consumerAcked(consumer))
                .description("The consumer's acknowledged sequence").tags(tags).register(registry);
        List<Meter> meters = streamMeters.get(stream);
        if (meters != null) {
            synchronized (meters) {
                meters.add(lag);
                meters.add(acked);
            }
        }
    }

    /** Removes a closed stream's meters. */
    void streamClosed(Stream stream) {
        List<Meter> meters = streamMeters.remove(stream);
        if (meters != null) {
            synchronized (meters) {
                meters.forEach(registry::remove);
            }
        }
    }

    /** Removes every meter of this broker from the registry (the broker closed). */
    public void close() {
        for (Stream s : List.copyOf(streamMeters.keySet())) {
            streamClosed(s);
        }
        synchronized (brokerMeters) {
            brokerMeters.forEach(registry::remove);
            brokerMeters.clear();
        }
    }
}
