/**
 * The wirebus Java client. {@link dev.wirebus.client.WirebusClient} is the entry point: publish
 * with acknowledgements, subscribe from any sequence with automatic resume, request/reply with
 * deadlines. {@link dev.wirebus.client.BatchingPublisher} serves high-rate producers.
 *
 * <pre>{@code
 * try (WirebusClient client = WirebusClient.builder().connect()) {
 *     client.subscribe("chat.session-42", StartPosition.earliest(), m -> render(m.payloadAsString()));
 *     client.publish("chat.session-42", "hello".getBytes(StandardCharsets.UTF_8)).join();
 * }
 * }</pre>
 */
package dev.wirebus.client;
