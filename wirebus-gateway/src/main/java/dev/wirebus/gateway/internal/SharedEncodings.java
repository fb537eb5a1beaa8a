package dev.wirebus.gateway.internal;

import dev.wirebus.client.Message;

import java.util.function.Function;

/**
 * Encodes a message once for all the subscribers of a {@link StreamFeed}. The feed hands the same
 * {@link Message} to each of its subscribers in turn, on one thread, so a one-entry cache per thread
 * and per form (SSE or WebSocket, text or base64) turns a thousand identical encodings into one:
 * the subscribers then share the bytes (read-only: each write wraps them in a buffer of its own).
 * A message seen once (a replay, a catch-up) is just encoded. Each thread keeps at most one
 * message and its encoding per form.
 */
final class SharedEncodings {
    /** The forms: SSE or WebSocket, times text or base64. */
    private static final int SSE = 0;
    private static final int WS = 2;

    private static final class Slots {
        final Message[] messages = new Message[4];
        final byte[][] bytes = new byte[4][];
    }

    private static final ThreadLocal<Slots> SLOTS = ThreadLocal.withInitial(Slots::new);

    private SharedEncodings() {
    }

    /** The SSE event of {@code m} in {@code encoding}, made by {@code encoder} unless this thread just made it. */
    static byte[] sse(Message m, Payloads encoding, Function<Message, byte[]> encoder) {
        return get(SSE + encoding.ordinal(), m, encoder);
    }

    /** The WebSocket message frame of {@code m} in {@code encoding}, likewise. */
    static byte[] ws(Message m, Payloads encoding, Function<Message, byte[]> encoder) {
        return get(WS + encoding.ordinal(), m, encoder);
    }

    private static byte[] get(int form, Message m, Function<Message, byte[]> encoder) {
        Slots s = SLOTS.get();
        if (s.messages[form] == m) {
            return s.bytes[form];
        }
        byte[] b = encoder.apply(m);
        s.messages[form] = m;
        s.bytes[form] = b;
        return b;
    }
}
