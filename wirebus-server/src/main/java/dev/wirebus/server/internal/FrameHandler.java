package dev.wirebus.server.internal;

import dev.wirebus.protocol.Frame;

/**
 * Carries out one kind of frame a client sent, on the connection's event loop, after the
 * connection's principal passed the frame's access checks (see {@link DispatchTable}). A request
 * it refuses is answered by throwing {@link BrokerException}: the connection answers ERROR with the
 * frame's request id and stays open.
 *
 * @param <F> the frame type handled
 */
@FunctionalInterface
interface FrameHandler<F extends Frame> {
    void handle(ConnectionHandler connection, F frame);
}
