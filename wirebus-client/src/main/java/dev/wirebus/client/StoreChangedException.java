package dev.wirebus.client;

/**
 * The broker came back after a reconnect with a different store (an in-memory broker restarted):
 * the streams' history is gone, so a subscription cannot resume by sequence without a silent gap
 * and ends with this exception. Not worth retrying as is: subscribe again explicitly, knowing the
 * sequences started over.
 *
 * <pre>{@code
 * sub.closed().exceptionally(e -> {
 *     if (e.getCause() instanceof StoreChangedException) { showReset(); }
 *     return null;
 * });
 * }</pre>
 */
public class StoreChangedException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    public StoreChangedException(String message) {
        super(message);
    }
}
