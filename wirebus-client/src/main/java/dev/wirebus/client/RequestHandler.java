package dev.wirebus.client;

/**
 * Answers requests on a subject. Runs on a dispatch thread of the client; requests may be handled
 * concurrently. A thrown exception is sent to the requester as {@code RESPONDER_FAILED} with the
 * exception's message.
 *
 * <pre>{@code
 * RequestHandler h = req -> ("validators:" + validators.size()).getBytes(StandardCharsets.UTF_8);
 * }</pre>
 */
@FunctionalInterface
public interface RequestHandler {
    /** The reply payload. */
    byte[] handle(Request request) throws Exception;
}
