package dev.wirebus.gateway.internal;

import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The gateway's live feeds, at most one {@link StreamFeed} per stream: made on a stream's first
 * subscriber, closed a little after its last one left. {@link #subscribe} is a drop-in for
 * {@link WirebusClient#subscribe(String, StartPosition, MessageHandler)}: the same
 * {@link Subscription} contract (started, closed, every message once and in order from the start
 * position), but one broker subscription per stream instead of one per HTTP subscriber, so the
 * broker sends, and the client decodes, each message once however many subscribers follow it.
 * Thread-safe.
 */
public final class StreamFeeds implements AutoCloseable {
    /** Messages the ring of a feed keeps at most. */
    public static final int RING_MESSAGES = 8192;
    /** Payload bytes (plus a small overhead per message) the ring of a feed keeps at most. */
    public static final long RING_BYTES = 8L << 20;
    /** How long a feed without subscribers stays open for one that comes back. */
    public static final Duration LINGER = Duration.ofSeconds(5);

    private final WirebusClient client;
    private final int ringMessages;
    private final long ringBytes;
    private final long lingerNanos;
    private final ConcurrentHashMap<String, StreamFeed> feeds = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService scheduler;
    private volatile boolean closed;

    public StreamFeeds(WirebusClient client) {
        this(client, RING_MESSAGES, RING_BYTES, LINGER);
    }

    public StreamFeeds(WirebusClient client, int ringMessages, long ringBytes, Duration linger) {
        this.client = Objects.requireNonNull(client, "client");
        if (ringMessages < 1 || ringBytes < 1) {
            throw new IllegalArgumentException("a feed's ring holds at least one message and one byte");
        }
        this.ringMessages = ringMessages;
        this.ringBytes = ringBytes;
        this.lingerNanos = linger.toNanos();
    }

    /** Where lingering feeds are timed (the gateway's event loops); without one an idle feed closes at once. */
    public void scheduler(ScheduledExecutorService scheduler) {
        this.scheduler = scheduler;
    }

    ScheduledExecutorService scheduler() {
        return scheduler;
    }

    long lingerNanos() {
        return lingerNanos;
    }

    /**
     * Subscribes {@code handler} to {@code stream} from {@code start} through the stream's shared
     * feed. Returns at once; {@link Subscription#started()} completes with the first sequence the
     * handler gets.
     *
     * @throws IllegalArgumentException when the client refuses the stream name
     */
    public Subscription subscribe(String stream, StartPosition start, MessageHandler handler) {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(handler, "handler");
        while (true) {
            if (closed) {
                StreamFeed gone = new StreamFeed(this, client, stream, 1, 1);
                FeedSubscription fs = gone.newSubscriber(start, handler);
                fs.mode = FeedSubscription.Mode.ENDED;
                fs.end(new ConnectionException("the gateway is closed"));
                return fs;
            }
            StreamFeed feed = feeds.get(stream);
            boolean created = false;
            if (feed == null) {
                StreamFeed fresh = new StreamFeed(this, client, stream, ringMessages, ringBytes);
                feed = feeds.putIfAbsent(stream, fresh);
                if (feed == null) {
                    feed = fresh;
                    created = true;
                }
            }
            if (created) {
                try {
                    feed.start();
                } catch (RuntimeException e) {
                    feed.ended(e); // ends whoever joined meanwhile, and forgets the feed
                    throw e;
                }
                if (closed) {
                    feed.close();
                }
            }
            FeedSubscription fs = feed.newSubscriber(start, handler);
            if (feed.add(fs)) {
                return fs;
            }
            feeds.remove(stream, feed); // it ended meanwhile: make a new one
        }
    }

    /** A feed ended or closed: forget it (a later subscriber makes a new one). */
    void removed(StreamFeed feed) {
        feeds.remove(feed.stream, feed);
    }

    /** Feeds open now (lingering ones included). */
    public int feeds() {
        return feeds.size();
    }

    /** The subscribers of {@code stream}'s feed (attached, waiting or catching up), 0 without a feed. */
    public int subscribers(String stream) {
        StreamFeed f = feeds.get(stream);
        return f == null ? 0 : f.subscribers();
    }

    /** The subscribers of {@code stream} catching up on a dedicated subscription. */
    public int catchingUp(String stream) {
        StreamFeed f = feeds.get(stream);
        return f == null ? 0 : f.catchingUp();
    }

    /** Messages and bytes held by {@code stream}'s ring ({0, 0} without a feed). */
    public long[] ringUsage(String stream) {
        StreamFeed f = feeds.get(stream);
        return f == null ? new long[] {0, 0} : f.ringUsage();
    }

    /** Closes every feed; their subscribers end normally. Further subscribers end at once. Idempotent. */
    @Override
    public void close() {
        closed = true;
        for (StreamFeed f : new ArrayList<>(feeds.values())) {
            f.close();
            feeds.remove(f.stream, f);
        }
    }
}
