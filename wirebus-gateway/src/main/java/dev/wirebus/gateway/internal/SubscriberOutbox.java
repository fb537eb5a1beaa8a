package dev.wirebus.gateway.internal;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;

import io.netty.util.internal.PlatformDependent;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The bounded queue between a connection's subscriptions and its socket (SSE and WebSocket).
 * Subscription handlers {@link #offer} frames encoded to their final bytes ({@link WireFrames}) from
 * the client's dispatch threads and return
 * at once, so the client grants credits and never buffers beyond its window; the connection's event
 * loop writes them while the channel is writable and stops when it is not (Netty's write
 * watermarks), so a slow reader leaves them here. When the queued bytes would pass the limit the
 * outbox overflows (unless the queue was empty: one item is always taken, however large): it
 * refuses everything from then on and runs the overflow action on the event
 * loop, which tells the client where to resume and closes. Memory per connection is thus bounded
 * by the limit plus Netty's high watermark.
 *
 * <p>Frames are written from the context {@link #start(ChannelHandlerContext)} names, that of the
 * HTTP or WebSocket encoder, so they pass no encoder: a message's bytes are shared by all its
 * subscribers and each write is one {@code retainedDuplicate} of them. An offered frame belongs to the
 * outbox, which writes or releases it. Until {@code start} nothing is written (the SSE response head
 * goes first).
 */
public final class SubscriberOutbox {
    /** Where one subscription stands: {@link #next()} is the first sequence not yet handed to the socket. */
    public static final class Cursor {
        private final String stream;
        private volatile long next;
        /** Set on the event loop by {@link SubscriberOutbox#cancel}: nothing of this cursor is written after. */
        private volatile boolean cancelled;

        public Cursor(String stream, long next) {
            this.stream = stream;
            this.next = next;
        }

        public String stream() {
            return stream;
        }

        /** The sequence to resume from: everything before it was handed to the socket. */
        public long next() {
            return next;
        }

        public void next(long sequence) {
            this.next = sequence;
        }

        /** True once its subscription's messages are no longer written (unsubscribed or ended). */
        public boolean cancelled() {
            return cancelled;
        }
    }

    private static final class Item {
        final Cursor cursor;
        final long sequence;
        /** Non-null for a WebSocket message: the frame is a text frame of these bytes followed by {@link #body}. */
        final byte[] textPrefix;
        final ByteBuf body;
        /** What the item counts against the limit (a text frame's header counted at its largest). */
        final int bytes;

        Item(Cursor cursor, long sequence, byte[] textPrefix, ByteBuf body) {
            this.cursor = cursor;
            this.sequence = sequence;
            this.textPrefix = textPrefix;
            this.body = body;
            this.bytes = (textPrefix == null ? 0 : textPrefix.length + WireFrames.MAX_TEXT_HEADER) + body.readableBytes();
        }

        void release() {
            body.release();
        }
    }

    private final Channel channel;
    private final OutboxDrains drains;
    private final long limitBytes;
    private final GatewayMetrics metrics;
    private final boolean webSocket;
    private final Runnable overflowAction;
    /** Offered and not yet taken by the event loop (many producers, one consumer: the event loop). */
    private final Queue<Item> inbox = PlatformDependent.newMpscQueue();
    /** Taken from the inbox but not yet written (by {@link #cancel}, which must look at everything queued). Event loop only. */
    private final ArrayDeque<Item> taken = new ArrayDeque<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean refusing = new AtomicBoolean();
    /** Room for the frame starts of one drain (allocated when a drain writes WebSocket messages). */
    private static final int SCRATCH_BYTES = 4096;
    /** Event loop only: the buffer this drain writes WebSocket frame starts into. */
    private ByteBuf scratch;
    /** Where frames are written from; set by {@link #start}. */
    private volatile ChannelHandlerContext writer;

    /** @param overflowAction runs once, on the event loop, when the limit is passed */
    public SubscriberOutbox(Channel channel, OutboxDrains drains, long limitBytes, GatewayMetrics metrics,
                            boolean webSocket, Runnable overflowAction) {
        if (drains.loop() != channel.eventLoop()) {
            throw new IllegalArgumentException("the drains of another event loop than the channel's");
        }
        this.channel = channel;
        this.drains = drains;
        this.limitBytes = limitBytes;
        this.metrics = metrics;
        this.webSocket = webSocket;
        this.overflowAction = overflowAction;
    }

    /**
     * Queues the frame of a message of {@code cursor}'s subscription; false (the frame released) once
     * the outbox overflowed or closed. Any thread.
     */
    public boolean offer(Cursor cursor, long sequence, ByteBuf frame) {
        return add(new Item(cursor, sequence, null, frame));
    }

    /**
     * Likewise, for a WebSocket text frame whose payload is {@code textPrefix} (this subscription's
     * own start) followed by {@code rest} (shared): the frame header and prefix are written by the
     * event loop when it writes the frame, into one buffer per drain, so that queued frames hold
     * nothing of their own but this item.
     */
    public boolean offer(Cursor cursor, long sequence, byte[] textPrefix, ByteBuf rest) {
        return add(new Item(cursor, sequence, textPrefix, rest));
    }

    /** Queues a frame that is no subscription's message (an ack, a keepalive). Any thread. */
    public boolean offer(ByteBuf frame) {
        return add(new Item(null, 0, null, frame));
    }

    /**
     * Stops writing {@code cursor}'s messages at once: the queued ones are dropped and later offers
     * are refused, so after this nothing of that subscription reaches the socket and
     * {@link Cursor#next()} stays the first sequence not written. Event loop.
     */
    public void cancel(Cursor cursor) {
        assert channel.eventLoop().inEventLoop();
        cursor.cancelled = true;
        Item item;
        while ((item = inbox.poll()) != null) {
            taken.addLast(item); // in order, behind what was taken before
        }
        taken.removeIf(i -> {
            if (i.cursor != cursor) {
                return false;
            }
            queuedBytes.addAndGet(-i.bytes);
            metrics.buffered(-i.bytes);
            i.release();
            return true;
        });
    }

    private boolean add(Item item) {
        if (refusing.get() || item.cursor != null && item.cursor.cancelled) {
            item.release();
            return false;
        }
        long n = queuedBytes.addAndGet(item.bytes);
        // an item offered to an empty queue is always taken, however large: a single message
        // bigger than the buffer would otherwise be refused on every resume, for ever
        if (n > limitBytes && n != item.bytes) {
            queuedBytes.addAndGet(-item.bytes);
            item.release();
            if (refusing.compareAndSet(false, true)) {
                channel.eventLoop().execute(() -> {
                    discard();
                    overflowAction.run();
                });
            }
            return false;
        }
        metrics.buffered(item.bytes);
        inbox.add(item);
        if (refusing.get()) {
            discardLater(); // closed meanwhile: nothing stays queued
            return false;
        }
        scheduleDrain();
        return true;
    }

    /**
     * Starts writing what is queued and what comes, from {@code writer}: the context of the encoder
     * the frames are already encoded for, so they pass it (and everything after it) untouched.
     */
    public void start(ChannelHandlerContext writer) {
        this.writer = writer;
        scheduleDrain();
    }

    /** The channel became writable again (or not): resume writing. */
    public void writabilityChanged() {
        scheduleDrain();
    }

    /** Refuses everything from now on and drops what is queued (the connection is ending). Any thread. */
    public void close() {
        refusing.set(true);
        if (channel.eventLoop().inEventLoop()) {
            discard();
        } else {
            discardLater();
        }
    }

    /** Bytes queued and not yet handed to the socket. */
    public long queuedBytes() {
        return queuedBytes.get();
    }

    private void scheduleDrain() {
        if (writer != null && drainScheduled.compareAndSet(false, true)) {
            drains.add(this);
        }
    }

    /** Writes what is queued while the channel is writable. Event loop (through {@link OutboxDrains}). */
    void drain() {
        drainScheduled.set(false);
        if (refusing.get()) {
            return;
        }
        ChannelHandlerContext out = writer;
        int sent = 0;
        long written = 0;
        Item item;
        while (channel.isWritable() && (item = next()) != null) {
            queuedBytes.addAndGet(-item.bytes);
            written += item.bytes;
            if (item.cursor != null && item.cursor.cancelled) {
                item.release(); // offered while it was being cancelled
                continue;
            }
            if (item.textPrefix != null) {
                out.write(textFrameStart(item.textPrefix, item.body.readableBytes()), out.voidPromise());
            }
            out.write(item.body, out.voidPromise());
            if (item.cursor != null) {
                item.cursor.next(item.sequence + 1);
                sent++;
            }
        }
        if (scratch != null) {
            scratch.release(); // the frame starts written from it hold their own references
            scratch = null;
        }
        if (written > 0) {
            metrics.buffered(-written);
            metrics.messagesSent(webSocket, sent);
            out.flush();
        }
        if ((!taken.isEmpty() || !inbox.isEmpty()) && channel.isWritable()) {
            scheduleDrain();
        }
    }

    /** A text frame's header for {@code prefix} + {@code restLength} bytes, then {@code prefix}: a slice of this drain's scratch buffer. */
    private ByteBuf textFrameStart(byte[] prefix, int restLength) {
        int need = prefix.length + WireFrames.MAX_TEXT_HEADER;
        if (scratch == null || scratch.writableBytes() < need) {
            if (scratch != null) {
                scratch.release();
            }
            scratch = channel.alloc().directBuffer(Math.max(SCRATCH_BYTES, need));
        }
        int at = scratch.writerIndex();
        WireFrames.writeTextHeader(scratch, (long) prefix.length + restLength);
        scratch.writeBytes(prefix);
        return scratch.retainedSlice(at, scratch.writerIndex() - at);
    }

    private Item next() {
        Item item = taken.pollFirst();
        return item != null ? item : inbox.poll();
    }

    /** Drops what is queued. Event loop. */
    private void discard() {
        Item item;
        while ((item = next()) != null) {
            queuedBytes.addAndGet(-item.bytes);
            metrics.buffered(-item.bytes);
            item.release();
        }
    }

    private void discardLater() {
        try {
            channel.eventLoop().execute(this::discard);
        } catch (RejectedExecutionException e) {
            // the gateway stopped: its event loops and their memory are gone with it
        }
    }
}
