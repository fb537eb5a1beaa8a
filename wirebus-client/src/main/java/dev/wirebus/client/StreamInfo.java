package dev.wirebus.client;

/**
 * One stream as the broker's admin listing shows it: its retained range
 * {@code [firstSequence, lastSequence]} (first > last when empty), bytes stored and the number of
 * durable consumers. See {@link WirebusClient#streams(String, int)}.
 */
public record StreamInfo(String name, long firstSequence, long lastSequence, long bytes, int consumers) {
}
