package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.security.Operation;

import java.util.ArrayList;
import java.util.List;

/**
 * The admin frames (issue 13): STREAMS lists the streams the principal may administer, in name
 * order, with their retained range, bytes and durable consumers. DELETE_CONSUMER forgets a durable
 * consumer that no subscription is attached to. TRIM_STREAM drops records below a sequence as far
 * as the store allows. DELETE_STREAM deletes a stream with its records and durable consumers
 * ({@link StreamRegistry#delete}); on a store shared by several brokers, for all of them.
 */
final class AdminHandlers {
    /** Most streams one STREAM_LIST carries. */
    static final int MAX_STREAMS_PER_PAGE = 1000;

    private AdminHandlers() {
    }

    /** STREAMS: a page of the streams the connection's principal may administer; others are not named. */
    static void streams(ConnectionHandler c, Frame.Streams f) {
        if (f.max() < 1 || f.max() > MAX_STREAMS_PER_PAGE) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "STREAMS max must be 1.." + MAX_STREAMS_PER_PAGE
                    + ", was " + f.max());
        }
        StreamRegistry registry = c.broker().streams();
        List<Frame.StreamInfo> page = new ArrayList<>();
        boolean more = false;
        for (String name : registry.names()) {
            if (name.compareTo(f.after()) <= 0 || !c.security().allows(Operation.ADMIN, name)) {
                continue;
            }
            if (page.size() == f.max()) {
                more = true;
                break;
            }
            Stream s = registry.get(name);
            if (s == null) {
                continue; // deleted meanwhile
            }
            page.add(new Frame.StreamInfo(name, s.firstSequence(), s.lastSequence(), s.log().retainedBytes(),
                    s.consumerReport().consumers().size()));
        }
        c.channel().write(new Frame.StreamList(f.requestId(), page, more));
    }

    /** DELETE_CONSUMER: forgets a durable consumer no subscription is attached to; OK, or NOT_FOUND. */
    static void deleteConsumer(ConnectionHandler c, Frame.DeleteConsumer f) {
        StreamRegistry.checkName("stream", f.stream());
        StreamRegistry.checkName("consumer", f.consumer());
        Stream s = c.broker().streams().get(f.stream());
        if (s == null || !s.deleteConsumer(f.consumer())) {
            throw new BrokerException(ErrorCode.NOT_FOUND, "stream '" + f.stream() + "' has no durable consumer '"
                    + f.consumer() + "'");
        }
        c.channel().write(new Frame.Ok(f.requestId()));
    }

    /** TRIM_STREAM: drops records below the sequence as far as the store's granularity allows; OK. */
    static void trimStream(ConnectionHandler c, Frame.TrimStream f) {
        StreamRegistry.checkName("stream", f.stream());
        if (f.beforeSequence() < 1) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "TRIM_STREAM before sequence must be at least 1, was "
                    + f.beforeSequence());
        }
        Stream s = c.broker().streams().get(f.stream());
        if (s == null || s.isAwaited()) {
            throw new BrokerException(ErrorCode.NOT_FOUND, "no stream '" + f.stream() + "'");
        }
        try {
            s.trimBefore(f.beforeSequence());
        } catch (UnsupportedOperationException e) {
            throw new BrokerException(ErrorCode.UNAVAILABLE, e.getMessage());
        }
        c.channel().write(new Frame.Ok(f.requestId()));
    }

    /** DELETE_STREAM: deletes the stream, its records and its durable consumers; OK, or NOT_FOUND. */
    static void deleteStream(ConnectionHandler c, Frame.DeleteStream f) {
        c.broker().streams().delete(f.stream());
        c.channel().write(new Frame.Ok(f.requestId()));
    }
}
