package dev.wirebus.client;

/**
 * Receives a subscription's messages, one at a time, in sequence order, on a dispatch thread of the
 * client (never the I/O thread). While it runs, no other message of that subscription is handed
 * over; a slow handler slows only its own subscription, through credits.
 *
 * <pre>{@code
 * MessageHandler h = m -> System.out.println(m.sequence() + "\t" + m.payloadAsString());
 * }</pre>
 */
@FunctionalInterface
public interface MessageHandler {
    /** Handles one message. An exception is reported to the {@link ConnectionListener} and the next message follows. */
    void onMessage(Message message) throws Exception;
}
