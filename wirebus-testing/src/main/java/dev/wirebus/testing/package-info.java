/**
 * Test support: {@link dev.wirebus.testing.EmbeddedBroker}, a real broker on a temporary Unix
 * socket and a free TCP port, and {@link dev.wirebus.testing.WirebusExtension} for JUnit 5.
 *
 * <pre>{@code
 * try (EmbeddedBroker broker = EmbeddedBroker.start()) { ... }
 * }</pre>
 */
package dev.wirebus.testing;
