package dev.wirebus.client;

import java.util.Objects;

/**
 * How to subscribe: where to start, and optionally as which durable consumer. A durable consumer's
 * acknowledged position is kept by the broker (on disk with disk storage): a restarted consumer
 * resumes after it; the start position only applies the first time a consumer subscribes.
 *
 * <pre>{@code
 * SubscribeOptions executor = SubscribeOptions.builder()
 *     .start(StartPosition.sequence(1))
 *     .consumer("executor")
 *     .ackMode(SubscribeOptions.AckMode.EXPLICIT)
 *     .maxLag(500)                    // publishers wait while the executor is 500 blocks behind
 *     .build();
 * Subscription sub = client.subscribe("blocks", executor, m -> { execute(m); sub.ack(m.sequence()); });
 * }</pre>
 */
public final class SubscribeOptions {
    /** When a durable consumer's position advances. */
    public enum AckMode {
        /** As messages are delivered to the client (at most once per consumer). */
        ON_DELIVERY,
        /** Only when the application calls {@link Subscription#ack} (at least once per consumer). */
        EXPLICIT
    }

    private final StartPosition start;
    private final String consumer;
    private final AckMode ackMode;
    private final int maxLag;

    private SubscribeOptions(Builder b) {
        this.start = b.start;
        this.consumer = b.consumer;
        this.ackMode = b.ackMode;
        this.maxLag = b.maxLag;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Options for a plain (non-durable) subscription from {@code start}. */
    public static SubscribeOptions from(StartPosition start) {
        return builder().start(start).build();
    }

    public StartPosition start() {
        return start;
    }

    /** The durable consumer's name, or null for a plain subscription. */
    public String consumer() {
        return consumer;
    }

    public AckMode ackMode() {
        return ackMode;
    }

    /** Lag at which this consumer holds publishers back (0: it does not gate). */
    public int maxLag() {
        return maxLag;
    }

    /** Validating builder of {@link SubscribeOptions}. */
    public static final class Builder {
        private StartPosition start = StartPosition.earliest();
        private String consumer;
        private AckMode ackMode = AckMode.EXPLICIT;
        private int maxLag;

        private Builder() {
        }

        /** Where a plain subscription, or a consumer subscribing for the first time, starts (default earliest). */
        public Builder start(StartPosition start) {
            this.start = Objects.requireNonNull(start, "start");
            return this;
        }

        /** Subscribe as this durable consumer. */
        public Builder consumer(String name) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("consumer name must not be empty");
            }
            this.consumer = name;
            return this;
        }

        /** When the consumer's position advances (default {@link AckMode#EXPLICIT}). */
        public Builder ackMode(AckMode mode) {
            this.ackMode = Objects.requireNonNull(mode, "ackMode");
            return this;
        }

        /** Hold publishers back while this consumer lags by {@code lag} messages or more (0: never). */
        public Builder maxLag(int lag) {
            if (lag < 0) {
                throw new IllegalArgumentException("maxLag must be at least 0, was " + lag);
            }
            this.maxLag = lag;
            return this;
        }

        public SubscribeOptions build() {
            if (consumer == null && maxLag > 0) {
                throw new IllegalStateException("maxLag needs a durable consumer: set consumer(name)");
            }
            return new SubscribeOptions(this);
        }
    }
}
