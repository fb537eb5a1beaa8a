/**
 * The wirebus broker: {@link dev.wirebus.server.Broker} started from a
 * {@link dev.wirebus.server.BrokerConfig}. Everything under {@code internal} may change without
 * notice.
 *
 * <pre>{@code
 * Broker broker = Broker.start(BrokerConfig.builder().tcp(new InetSocketAddress("127.0.0.1", 0)).build());
 * int port = broker.tcpAddress().getPort();
 * }</pre>
 */
package dev.wirebus.server;
