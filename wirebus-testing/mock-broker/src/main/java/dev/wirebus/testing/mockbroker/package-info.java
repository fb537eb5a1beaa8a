/**
 * A scripted mock broker for testing wirebus clients without a real broker: {@link
 * dev.wirebus.testing.mockbroker.MockBroker} listens on a real loopback socket, answers the
 * handshake, lets a test enqueue what it answers to the next frames ({@link
 * dev.wirebus.testing.mockbroker.Action}) and take the frames it received with a deadline.
 */
package dev.wirebus.testing.mockbroker;
