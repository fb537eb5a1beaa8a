package dev.wirebus.client;

import java.util.List;

/**
 * A stream's last sequence and its durable consumers.
 *
 * <pre>{@code
 * StreamConsumers s = client.consumers("blocks").join();
 * }</pre>
 */
public record StreamConsumers(String stream, long lastSequence, List<ConsumerInfo> consumers) {
}
