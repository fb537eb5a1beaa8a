package dev.wirebus.gateway.internal;

import io.netty.channel.Channel;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The bounded queue between a connection's subscriptions and its socket (SSE and WebSocket).
 * Subscription handlers {@link #offer} encoded frames from the client's dispatch threads and return
 * at once, so the client grants credits and never buffers beyond its window; the connection's event
 * loop writes them while the channel is writable and stops when it is not (Netty's write
 * watermarks), so a slow reader leaves them here. When the queued bytes would pass the limit the
 * outbox overflows (unless the queue was empty: one item is always taken, however large): it
 * refuses everything from then on and runs the overflow action on the event
 * loop, which tells the client where to resume and closes. Memory per connection is thus bounded
 * by the limit plus Netty's high watermark.
 *
 * <p>Until {@link #start()} nothing is written (the SSE response head goes first).
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
        final byte[] bytes;

        Item(Cursor cursor, long sequence, byte[] bytes) {
            this.cursor = cursor;
            this.sequence = sequence;
            this.bytes = bytes;
        }
    }

    private final Channel channel;
    private final long limitBytes;
    private final Function<byte[], Object> framer;
    private final GatewayMetrics metrics;
    private final boolean webSocket;
    private final Runnable overflowAction;
    private final ConcurrentLinkedQueue<Item> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final AtomicBoolean refusing = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
    private volatile boolean started;

    /**
     * @param framer turns encoded bytes into what the pipeline writes (an HTTP chunk, a WebSocket frame)
     * @param overflowAction runs once, on the event loop, when the limit is passed
     */
    public SubscriberOutbox(Channel channel, long limitBytes, Function<byte[], Object> framer, GatewayMetrics metrics,
                            boolean webSocket, Runnable overflowAction) {
        this.channel = channel;
        this.limitBytes = limitBytes;
        this.framer = framer;
        this.metrics = metrics;
        this.webSocket = webSocket;
        this.overflowAction = overflowAction;
    }

    /** Queues a message of {@code cursor}'s subscription; false once the outbox overflowed or closed. Any thread. */
    public boolean offer(Cursor cursor, long sequence, byte[] bytes) {
        return add(new Item(cursor, sequence, bytes));
    }

    /** Queues a frame that is no subscription's message (an ack, a keepalive). Any thread. */
    public boolean offer(byte[] bytes) {
        return add(new Item(null, 0, bytes));
    }

    /**
     * Stops writing {@code cursor}'s messages at once: the queued ones are dropped and later offers
     * are refused, so after this nothing of that subscription reaches the socket and
     * {@link Cursor#next()} stays the first sequence not written. Event loop.
     */
    public void cancel(Cursor cursor) {
        assert channel.eventLoop().inEventLoop();
        cursor.cancelled = true;
        for (java.util.Iterator<Item> it = queue.iterator(); it.hasNext(); ) {
            Item item = it.next();
            if (item.cursor == cursor) {
                it.remove();
                queuedBytes.addAndGet(-item.bytes.length);
                metrics.bufferedBytes().addAndGet(-item.bytes.length);
            }
        }
    }

    private boolean add(Item item) {
        if (refusing.get() || item.cursor != null && item.cursor.cancelled) {
            return false;
        }
        long n = queuedBytes.addAndGet(item.bytes.length);
        // an item offered to an empty queue is always taken, however large: a single message
        // bigger than the buffer would otherwise be refused on every resume, for ever
        if (n > limitBytes && n != item.bytes.length) {
            queuedBytes.addAndGet(-item.bytes.length);
            if (refusing.compareAndSet(false, true)) {
                channel.eventLoop().execute(() -> {
                    discard();
                    overflowAction.run();
                });
            }
            return false;
        }
        metrics.bufferedBytes().addAndGet(item.bytes.length);
        queue.add(item);
        if (refusing.get()) {
            discard(); // closed meanwhile: nothing stays queued
            return false;
        }
        scheduleDrain();
        return true;
    }

    /** Starts writing what is queued and what comes. */
    public void start() {
        started = true;
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
            channel.eventLoop().execute(this::discard);
        }
    }

    /** Bytes queued and not yet handed to the socket. */
    public long queuedBytes() {
        return queuedBytes.get();
    }

    private void scheduleDrain() {
        if (started && drainScheduled.compareAndSet(false, true)) {
            channel.eventLoop().execute(drainTask);
        }
    }

    private void drain() {
        drainScheduled.set(false);
        if (refusing.get()) {
            return;
        }
        boolean wrote = false;
        Item item;
        while (channel.isWritable() && (item = queue.poll()) != null) {
            int n = item.bytes.length;
            queuedBytes.addAndGet(-n);
            metrics.bufferedBytes().addAndGet(-n);
            if (item.cursor != null && item.cursor.cancelled) {
                continue; // offered while it was being cancelled
            }
            channel.write(framer.apply(item.bytes), channel.voidPromise());
            if (item.cursor != null) {
                item.cursor.next(item.sequence + 1);
                metrics.messageSent(webSocket);
            }
            wrote = true;
        }
        if (wrote) {
            channel.flush();
        }
        if (!queue.isEmpty() && channel.isWritable()) {
            scheduleDrain();
        }
    }

    /** Drops what is queued. Any thread. */
    private void discard() {
        Item item;
        while ((item = queue.poll()) != null) {
            queuedBytes.addAndGet(-item.bytes.length);
            metrics.bufferedBytes().addAndGet(-item.bytes.length);
        }
    }
}
