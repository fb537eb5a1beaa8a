package dev.wirebus.server;

import java.time.Duration;

/**
 * Settings of one stream that override the broker-wide ones; a null field keeps the broker's.
 *
 * <pre>{@code
 * BrokerConfig.builder()
 *     .stream("blocks", StreamSettings.none().withDurability(BrokerConfig.Durability.ALWAYS).withRetentionMessages(10_000_000))
 *     .stream("metrics", StreamSettings.none().withDurability(BrokerConfig.Durability.NEVER).withRetentionAge(Duration.ofHours(1)))
 * }</pre>
 *
 * @param retentionMessages messages the stream retains at most
 * @param retentionBytes bytes the stream retains at most
 * @param retentionAge age after which whole segments are dropped (disk streams)
 * @param durability when publishes to the stream are acknowledged (disk streams)
 * @param maxMessageBytes largest message the stream accepts (at most the broker's frame limit)
 */
public record StreamSettings(Long retentionMessages, Long retentionBytes, Duration retentionAge,
                             BrokerConfig.Durability durability, Integer maxMessageBytes) {

    public StreamSettings {
        if (retentionMessages != null && retentionMessages < 1) {
            throw new IllegalArgumentException("retentionMessages must be at least 1, was " + retentionMessages);
        }
        if (retentionBytes != null && retentionBytes < 1) {
            throw new IllegalArgumentException("retentionBytes must be at least 1, was " + retentionBytes);
        }
        if (retentionAge != null && (retentionAge.isNegative() || retentionAge.isZero())) {
            throw new IllegalArgumentException("retentionAge must be positive, was " + retentionAge);
        }
        if (maxMessageBytes != null && maxMessageBytes < 0) {
            throw new IllegalArgumentException("maxMessageBytes must be non-negative, was " + maxMessageBytes);
        }
    }

    /** No overrides. */
    public static StreamSettings none() {
        return new StreamSettings(null, null, null, null, null);
    }

    public StreamSettings withRetentionMessages(long messages) {
        return new StreamSettings(messages, retentionBytes, retentionAge, durability, maxMessageBytes);
    }

    public StreamSettings withRetentionBytes(long bytes) {
        return new StreamSettings(retentionMessages, bytes, retentionAge, durability, maxMessageBytes);
    }

    public StreamSettings withRetentionAge(Duration age) {
        return new StreamSettings(retentionMessages, retentionBytes, age, durability, maxMessageBytes);
    }

    public StreamSettings withDurability(BrokerConfig.Durability policy) {
        return new StreamSettings(retentionMessages, retentionBytes, retentionAge, policy, maxMessageBytes);
    }

    public StreamSettings withMaxMessageBytes(int bytes) {
        return new StreamSettings(retentionMessages, retentionBytes, retentionAge, durability, bytes);
    }
}
