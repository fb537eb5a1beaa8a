package dev.wirebus.server.internal;

import dev.wirebus.protocol.Frame;
import dev.wirebus.security.Operation;

import java.util.function.Function;

/**
 * One permission a frame needs before it is carried out: an operation on a resource taken from the
 * frame (a stream, a subject, a durable consumer's name). Declared per frame type in
 * {@link DispatchTable}.
 *
 * @param operation what the frame asks to do
 * @param resource  the stream, subject or consumer name the frame names
 * @param <F>       the frame type checked
 */
record AccessCheck<F extends Frame>(Operation operation, Function<F, String> resource) {
    static <F extends Frame> AccessCheck<F> of(Operation operation, Function<F, String> resource) {
        return new AccessCheck<>(operation, resource);
    }

    /** The message of the PERMISSION_DENIED error that answers a denial. */
    static String deniedMessage(Operation operation, String resource, String principal) {
        return operation.word() + " on '" + resource + "' is not permitted for '" + principal + "'";
    }
}
