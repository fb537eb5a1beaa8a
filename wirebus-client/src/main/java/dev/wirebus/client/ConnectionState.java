package dev.wirebus.client;

/**
 * Where a client's connection stands.
 *
 * <pre>{@code
 * if (client.state() == ConnectionState.CONNECTED) { ... }
 * }</pre>
 */
public enum ConnectionState {
    /** First connection attempt in progress. */
    CONNECTING,
    /** Handshake done; calls go out at once. */
    CONNECTED,
    /** The connection was lost; the client is reconnecting and queues calls until their deadlines. */
    RECONNECTING,
    /** Closed by the user, or the reconnect policy gave up. Calls fail at once. */
    CLOSED
}
