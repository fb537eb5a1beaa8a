package dev.wirebus.client;

/**
 * Hears about a client's connection state and about errors that belong to no call (a broker
 * ending a subscription, a handler that threw, a GOAWAY). Methods default to doing nothing and run
 * on client threads: return quickly.
 *
 * <pre>{@code
 * WirebusClient.builder().listener(new ConnectionListener() {
 *     public void onStateChange(ConnectionState s) { log.info("wirebus {}", s); }
 * })
 * }</pre>
 */
public interface ConnectionListener {
    /** The connection changed state. */
    default void onStateChange(ConnectionState state) {
    }

    /** An error no caller receives otherwise. */
    default void onError(Throwable error) {
    }
}
