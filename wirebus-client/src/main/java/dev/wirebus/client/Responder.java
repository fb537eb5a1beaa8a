package dev.wirebus.client;

/**
 * A registration as responder on a subject. It is restored after reconnects; closing it stops
 * taking requests.
 *
 * <pre>{@code
 * try (Responder r = client.respond("state.committee", req -> committee()).join()) { ... }
 * }</pre>
 */
public interface Responder extends AutoCloseable {
    String subject();

    /** Unregisters. Idempotent. */
    @Override
    void close();
}
