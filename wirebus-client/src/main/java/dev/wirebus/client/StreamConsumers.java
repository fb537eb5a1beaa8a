package dev.wirebus.client;

import java.util.List;

/**
 * A stream's last sequence, its gate and its durable consumers.
 *
 * <pre>{@code
 * StreamConsumers s = client.consumers("blocks").join();
 * if (s.heldPublishes() > 0) log.info("producers wait for {}", s.consumers());
 * }</pre>
 *
 * @param heldPublishes publishes a gating consumer holds back now
 * @param heldMillis milliseconds publishes spent held, in all, since the broker started
 * @param rejectedPublishes publishes refused by the gate since the broker started
 */
public record StreamConsumers(String stream, long lastSequence, int heldPublishes, long heldMillis,
                              long rejectedPublishes, List<ConsumerInfo> consumers) {
}
