package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A subscription: a cursor over a stream's log that sends DELIVER frames to one channel. It runs
 * only on that channel's event loop and sends only while it has credits and the channel is
 * writable, so a slow subscriber costs the broker nothing but its cursor position: it never
 * buffers on the subscriber's behalf. History and live messages both come from {@link Stream#read}.
 */
final class SubscriptionCursor extends Stream.Waiter {
    private static final int MAX_RECORDS_PER_FRAME = 8192;
    private static final int MAX_BYTES_PER_FRAME = 256 * 1024;
    private static final int MAX_FRAMES_PER_DRAIN = 16;
    private static final Runnable NOTHING = () -> { };

    private final Channel channel;
    private final int subscriptionId;
    private final Stream stream;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final List<StreamLog.Slice> slices = new ArrayList<>();
    private final Runnable drainTask = this::drain;
    private final Consumer<SubscriptionCursor> onClosedByBroker;
    private final BrokerMetrics metrics;
    private long nextSequence;
    private long credits;
    private boolean started;
    private boolean closed;

    /** The durable consumer this cursor serves, or null for a plain subscription. */
    private final String consumer;
    /** Whether delivering a message acknowledges it for the consumer. */
    private final boolean ackOnDelivery;
    /** Most record bytes (length prefixes included) in one DELIVER. */
    private final int maxRecordBytes;

    SubscriptionCursor(Channel channel, int subscriptionId, Stream stream, long startSequence, int credits,
                       String consumer, boolean ackOnDelivery, BrokerMetrics metrics,
                       Consumer<SubscriptionCursor> onClosedByBroker, int maxFrameLength) {
        // a DELIVER never exceeds the frame length the broker announced: header, fields, then records
        int overhead = FrameCodec.HEADER_LENGTH + 4 + 2 + stream.name().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                + 8 + 4;
        this.maxRecordBytes = Math.min(MAX_BYTES_PER_FRAME, maxFrameLength - overhead);
        this.metrics = metrics;
        this.consumer = consumer;
        this.ackOnDelivery = ackOnDelivery;
        this.onClosedByBroker = onClosedByBroker;
        this.channel = channel;
        this.subscriptionId = subscriptionId;
        this.stream = stream;
        this.nextSequence = startSequence;
        this.credits = credits;
        // counted as a subscriber of the stream by StreamRegistry.attach, before this was built
    }

    int subscriptionId() {
        return subscriptionId;
    }

    String consumer() {
        return consumer;
    }

    Stream stream() {
        return stream;
    }

    /** Begins delivering. Event loop only. */
    void start() {
        started = true;
        stream.readerStarted(this);
        schedule();
    }

    /** Adds credits. Event loop only. */
    void grant(int more) {
        credits = Math.min(Integer.MAX_VALUE, credits + more);
        schedule();
    }

    /** Stops delivering and unregisters from the stream. Event loop only. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        stream.readerClosed(this);
        stream.subscriberClosed();
        stream.removeWaiter(this);
        if (consumer != null) {
            stream.detachConsumer(consumer);
        }
    }

    @Override
    protected void wake() {
        schedule();
    }

    /** Asks for a drain on the event loop unless one is already queued. Any thread. */
    void schedule() {
        if (scheduled.compareAndSet(false, true)) {
            channel.eventLoop().execute(drainTask);
        }
    }

    private void drain() {
        try {
            drainOnce();
        } catch (BrokerException e) {
            // a shared store's read refused (the stream was deleted by another broker, Redis unreachable):
            // the subscription ends with the store's code
            close();
            metrics.error(e.code());
            channel.writeAndFlush(new Frame.SubscriptionClosed(0, subscriptionId, e.code().code(), e.getMessage(),
                    e.fields()));
            onClosedByBroker.accept(this);
        } catch (RuntimeException e) {
            // a bug must not silently stall a subscriber: end the subscription, visibly
            org.slf4j.LoggerFactory.getLogger(SubscriptionCursor.class)
                    .error("subscription {} on '{}' failed at sequence {}", subscriptionId, stream.name(), nextSequence, e);
            close();
            metrics.error(ErrorCode.INTERNAL);
            channel.writeAndFlush(new Frame.SubscriptionClosed(0, subscriptionId, ErrorCode.INTERNAL.code(),
                    "broker failed delivering sequence " + nextSequence + ": " + e));
            onClosedByBroker.accept(this);
        }
    }

    private void drainOnce() {
        scheduled.set(false);
        if (closed || !started || !channel.isActive()) {
            return;
        }
        if (stream.isDeleted()) {
            closeDeleted();
            return;
        }
        int frames = 0;
        long before = nextSequence;
        while (credits > 0 && channel.isWritable() && frames < MAX_FRAMES_PER_DRAIN) {
            slices.clear();
            int max = (int) Math.min(credits, MAX_RECORDS_PER_FRAME);
            Stream.ReadStatus status = stream.read(nextSequence, max, maxRecordBytes, slices, this);
            if (status == Stream.ReadStatus.WAITING) {
                break;
            }
            if (status == Stream.ReadStatus.NOT_RETAINED) {
                closeNotRetained();
                break;
            }
            if (status == Stream.ReadStatus.DELETED) {
                closeDeleted();
                break;
            }
            channel.write(encode());
            frames++;
            if (ackOnDelivery) {
                stream.acknowledge(consumer, nextSequence - 1, NOTHING);
            }
        }
        if (frames > 0) {
            metrics.delivered((int) (nextSequence - before));
            channel.flush();
        }
        if (frames == MAX_FRAMES_PER_DRAIN) {
            // let the other channels of this event loop have their turn, then go on
            schedule();
        }
    }

    private ByteBuf encode() {
        int count = 0;
        int bytes = 0;
        for (StreamLog.Slice s : slices) {
            count += s.count();
            bytes += s.bytes();
        }
        ByteBuf buf = channel.alloc().buffer(64 + stream.name().length() * 3 + bytes);
        FrameCodec.writeDeliverHeader(buf, subscriptionId, stream.name(), nextSequence, count, bytes);
        for (StreamLog.Slice s : slices) {
            s.batch().writeTo(buf, s.from(), s.to());
        }
        nextSequence += count;
        credits -= count;
        return buf;
    }

    private void closeNotRetained() {
        BrokerException e = stream.notRetained(nextSequence, stream.firstSequence());
        close();
        metrics.error(ErrorCode.SEQUENCE_NOT_RETAINED);
        channel.writeAndFlush(new Frame.SubscriptionClosed(0, subscriptionId, ErrorCode.SEQUENCE_NOT_RETAINED.code(),
                "subscriber fell behind retention: " + e.getMessage(), e.fields()));
        onClosedByBroker.accept(this);
    }

    /** DELETE_STREAM deleted the stream: the subscription ends with NOT_FOUND. */
    private void closeDeleted() {
        close();
        metrics.error(ErrorCode.NOT_FOUND);
        channel.writeAndFlush(new Frame.SubscriptionClosed(0, subscriptionId, ErrorCode.NOT_FOUND.code(),
                "stream '" + stream.name() + "' was deleted"));
        onClosedByBroker.accept(this);
    }
}
