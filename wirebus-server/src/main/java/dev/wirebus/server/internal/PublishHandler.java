package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.RecordBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PUBLISH, PUBLISH_BATCH and PUBLISH_IDEMPOTENT: checks the frame, appends to the stream (created
 * by its first publish) and answers PUBLISH_ACK, or ERROR, once the stream says the records are
 * stored as the broker's durability policy asks. Answers go out in arrival order; the connection
 * stops reading when too many wait (see {@link ConnectionHandler#publishStarted()}).
 */
final class PublishHandler {
    private static final Logger log = LoggerFactory.getLogger(PublishHandler.class);

    private PublishHandler() {
    }

    static void publish(ConnectionHandler c, Frame.Publish f) {
        c.refuseWhenShuttingDown();
        checkMessageSize(c, f.stream(), f.payload().length);
        append(c, f.requestId(), f.stream(), RecordBatch.of(f.payload()), f.expectedSequence(), null, 0);
    }

    static void publishBatch(ConnectionHandler c, Frame.PublishBatch f) {
        c.refuseWhenShuttingDown();
        if (f.records().count() == 0) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "PUBLISH_BATCH with no records");
        }
        checkMessageSize(c, f.stream(), f.records().maxPayloadLength());
        append(c, f.requestId(), f.stream(), f.records(), f.expectedSequence(), null, 0);
    }

    static void publishIdempotent(ConnectionHandler c, Frame.PublishIdempotent f) {
        c.refuseWhenShuttingDown();
        if (f.records().count() == 0) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "PUBLISH_IDEMPOTENT with no records");
        }
        StreamRegistry.checkName("producer id", f.producerId());
        if (f.producerSequence() < 1) {
            throw new BrokerException(ErrorCode.INVALID_ARGUMENT, "producer sequence must be at least 1, was "
                    + f.producerSequence());
        }
        checkMessageSize(c, f.stream(), f.records().maxPayloadLength());
        append(c, f.requestId(), f.stream(), f.records(), f.expectedSequence(), f.producerId(),
                f.producerSequence());
    }

    private static void checkMessageSize(ConnectionHandler c, String stream, int size) {
        int max = c.broker().config().maxMessageBytes(stream);
        if (size > max) {
            throw new BrokerException(ErrorCode.MESSAGE_TOO_LARGE, "message of " + size
                    + " bytes exceeds the maximum " + max);
        }
    }

    private static void append(ConnectionHandler c, long requestId, String streamName, RecordBatch records,
                               long expectedSequence, String producerId, long producerSequence) {
        long startNanos = System.nanoTime();
        BrokerContext broker = c.broker();
        BrokerMetrics metrics = broker.metrics();
        Stream stream;
        try {
            stream = broker.streams().getOrCreate(streamName);
        } catch (java.io.UncheckedIOException e) {
            throw new BrokerException(ErrorCode.INTERNAL, e.getMessage() + ": " + e.getCause().getMessage());
        }
        c.publishStarted();
        try {
            stream.append(records, expectedSequence, producerId, producerSequence, new Stream.AppendListener() {
                @Override
                public void appended(long first, int count, Throwable failure) {
                    if (failure == null) {
                        metrics.published(producerId != null, count);
                        c.replyToPublish(new Frame.PublishAck(requestId, first, count), startNanos);
                    } else {
                        c.replyToPublish(failure instanceof BrokerException b
                                ? c.error(requestId, b)
                                : c.error(requestId, ErrorCode.INTERNAL, "stream '" + streamName
                                        + "' could not store the messages durably: " + failure.getMessage()),
                                startNanos);
                    }
                }

                @Override
                public void duplicate(long first, int count) {
                    metrics.duplicate();
                    c.replyToPublish(new Frame.PublishAck(requestId, first, count, true), startNanos);
                }
            }, c.deadlines(), broker.config().publishWait().toMillis());
        } catch (BrokerException e) {
            c.ackSettled();
            throw e;
        } catch (RuntimeException e) {
            c.ackSettled();
            log.error("append to stream '{}' failed", streamName, e);
            throw new BrokerException(ErrorCode.INTERNAL, "stream '" + streamName + "' could not append: "
                    + e.getMessage());
        }
    }
}
