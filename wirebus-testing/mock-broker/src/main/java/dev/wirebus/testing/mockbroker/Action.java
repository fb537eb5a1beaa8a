package dev.wirebus.testing.mockbroker;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;

import java.util.function.Function;

/**
 * What a {@link MockBroker} does with one received frame that an enqueued script entry matched.
 * Runs on the broker's I/O thread; {@code peer} is the connection the frame came on.
 *
 * <pre>{@code
 * broker.enqueue(FrameType.PUBLISH, Action.answer(f -> new Frame.PublishAck(f.requestId(), 1, 1, false)));
 * broker.enqueue(FrameType.PUBLISH, Action.closeConnection());   // the connection dies mid-call
 * Held held = broker.enqueueHeld(FrameType.REQUEST);            // answered when the test says so
 * }</pre>
 */
@FunctionalInterface
public interface Action {
    void run(Frame received, MockBroker.Peer peer);

    /** Answers with the frame {@code answer} makes of the received one (so the request id matches). */
    static Action answer(Function<Frame, ? extends Frame> answer) {
        return (f, peer) -> peer.send(answer.apply(f));
    }

    /** Answers OK. */
    static Action ok() {
        return (f, peer) -> peer.send(new Frame.Ok(f.requestId()));
    }

    /** Answers an ERROR with {@code code} and {@code message}. */
    static Action error(ErrorCode code, String message) {
        return (f, peer) -> peer.send(new Frame.Error(f.requestId(), code, message));
    }

    /** Never answers: the call waits until its deadline. */
    static Action ignore() {
        return (f, peer) -> { };
    }

    /** Closes the connection instead of answering (the broker died mid-call). */
    static Action closeConnection() {
        return (f, peer) -> peer.close();
    }

    /** Sends GOAWAY with {@code message} and closes the connection instead of answering. */
    static Action goAway(String message) {
        return (f, peer) -> {
            peer.send(new Frame.GoAway(0, ErrorCode.SHUTTING_DOWN.code(), message));
            peer.close();
        };
    }

    /** Does this, then {@code next}. */
    default Action then(Action next) {
        return (f, peer) -> {
            run(f, peer);
            next.run(f, peer);
        };
    }
}
