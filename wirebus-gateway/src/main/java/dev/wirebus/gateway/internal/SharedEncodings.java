package dev.wirebus.gateway.internal;

import dev.wirebus.client.Message;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;

import java.util.function.Function;

/**
 * Encodes a message once for all the subscribers of a {@link StreamFeed}. The feed hands a live
 * message to each of its subscribers in turn, on one thread, between {@link #begin} and
 * {@link #end}; inside that scope the first subscriber to ask for a form (SSE or WebSocket, text or
 * base64) makes its bytes and every subscriber gets a {@code retainedDuplicate} of them: a thousand
 * subscribers cost one encoding and one buffer, and the buffer is freed when the last of their
 * writes is done. Outside a scope (a replay, a catch-up: a message seen by one subscriber) the
 * message is just encoded. Either way the caller owns what it gets (it writes or releases it).
 */
final class SharedEncodings {
    private static final int SSE = 0;
    private static final int WS = 2;
    private static final int FORMS = 4;

    private static final class Scope {
        Message message;
        final ByteBuf[] frames = new ByteBuf[FORMS];

        void clear() {
            message = null;
            for (int i = 0; i < FORMS; i++) {
                if (frames[i] != null) {
                    frames[i].release();
                    frames[i] = null;
                }
            }
        }
    }

    private static final FastThreadLocal<Scope> SCOPE = new FastThreadLocal<>() {
        @Override
        protected Scope initialValue() {
            return new Scope();
        }
    };

    private SharedEncodings() {
    }

    /** Until {@link #end()}, encodings of {@code m} made on this thread are shared. */
    static void begin(Message m) {
        Scope s = SCOPE.get();
        s.clear();
        s.message = m;
    }

    /** Ends the scope: the shared encodings are released (the subscribers hold their own references). */
    static void end() {
        SCOPE.get().clear();
    }

    /** The SSE event of {@code m} in {@code encoding}, as an HTTP chunk, made by {@code encoder} once per scope. */
    static ByteBuf sse(Message m, Payloads encoding, Function<Message, ByteBuf> encoder) {
        return get(SSE + encoding.ordinal(), m, encoder);
    }

    /** The shared part of the WebSocket message frame of {@code m} in {@code encoding}, likewise. */
    static ByteBuf ws(Message m, Payloads encoding, Function<Message, ByteBuf> encoder) {
        return get(WS + encoding.ordinal(), m, encoder);
    }

    private static ByteBuf get(int form, Message m, Function<Message, ByteBuf> encoder) {
        Scope s = SCOPE.get();
        if (s.message != m) {
            return encoder.apply(m);
        }
        ByteBuf b = s.frames[form];
        if (b == null) {
            b = s.frames[form] = encoder.apply(m);
        }
        return b.retainedDuplicate();
    }
}
