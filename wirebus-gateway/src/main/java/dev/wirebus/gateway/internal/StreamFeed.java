package dev.wirebus.gateway.internal;

import dev.wirebus.client.Message;
import dev.wirebus.client.MessageHandler;
import dev.wirebus.client.StartPosition;
import dev.wirebus.client.Subscription;
import dev.wirebus.client.WirebusClient;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's one live client subscription to a stream, shared by all its SSE and WebSocket
 * subscribers. It subscribes from {@link StartPosition#latest()} and keeps the most recent messages
 * in a bounded {@link MessageRing}, so a subscriber starting at or after the ring's first sequence
 * attaches at once: under the feed's lock it is replayed the ring from its start and joins the live
 * list, so the next live message is the one after the ring's last: no gap, no duplicate. A
 * subscriber starting before the ring gets a dedicated client subscription until that reaches the
 * ring, then is switched to the feed the same way and the dedicated subscription is closed.
 *
 * <p>Live dispatch runs on the feed subscription's dispatch thread: under the lock it appends the
 * message to the ring and takes the live list (copy on write), then, outside the lock, hands the
 * message to each subscriber in turn. The gateway's handlers only offer to a bounded outbox and
 * never block. When the feed's client subscription ends (the broker ended it, the store changed, the
 * client closed), every subscriber ends the same way. When the last subscriber leaves, the feed
 * lingers a little (a reconnecting subscriber resumes from the ring), then closes.
 */
final class StreamFeed {
    private static final FeedSubscription[] NONE = new FeedSubscription[0];

    final String stream;
    private final StreamFeeds owner;
    private final WirebusClient client;
    private final int ringMessages;
    private final long ringBytes;
    /** Guarded by this. */
    private MessageRing ring;
    private boolean terminated;
    /** Set when the feed's client subscription ended by itself (not closed by the feed); with its cause, or null. */
    private boolean endedBySource;
    private Throwable endCause;
    private Subscription subscription;
    private FeedSubscription[] live = NONE;
    private final List<FeedSubscription> pending = new ArrayList<>();
    private final Set<FeedSubscription> catchingUp = new HashSet<>();
    private long lingerToken;
    private ScheduledFuture<?> linger;
    /** The ring's first sequence, for lock-free pre-checks (only grows; MAX_VALUE until started). */
    private volatile long ringFirst = Long.MAX_VALUE;

    StreamFeed(StreamFeeds owner, WirebusClient client, String stream, int ringMessages, long ringBytes) {
        this.owner = owner;
        this.client = client;
        this.stream = stream;
        this.ringMessages = ringMessages;
        this.ringBytes = ringBytes;
    }

    /** Opens the feed's client subscription (once, by the thread that created the feed). */
    void start() {
        Subscription sub;
        synchronized (this) {
            if (terminated || subscription != null) {
                return;
            }
            sub = client.subscribe(stream, StartPosition.latest(), this::onMessage);
            subscription = sub;
        }
        sub.started().whenComplete((first, failure) -> {
            if (failure == null) {
                List<FeedSubscription> dedicated = new ArrayList<>();
                synchronized (this) {
                    startedLocked(first, dedicated);
                }
                openDedicated(dedicated);
            }
            // a failure also completes closed() exceptionally: handled there
        });
        sub.closed().whenComplete((ok, failure) -> ended(failure));
    }

    /**
     * Adds a subscriber; false when the feed was closed for lack of subscribers (the caller makes a
     * new feed). When the feed's client subscription had ended by itself, the subscriber ends the
     * same way at once (true): retrying could spin, for example on a closed client.
     */
    boolean add(FeedSubscription fs) {
        List<FeedSubscription> dedicated = new ArrayList<>(1);
        synchronized (this) {
            if (terminated) {
                if (!endedBySource) {
                    return false;
                }
                fs.mode = FeedSubscription.Mode.ENDED;
            }
        }
        if (fs.mode == FeedSubscription.Mode.ENDED) {
            fs.end(unwrap(endCauseSnapshot()));
            return true;
        }
        synchronized (this) {
            if (terminated) { // closed for lack of subscribers in between
                return false;
            }
            cancelLingerLocked();
            if (ring == null) {
                pending.add(fs);
            } else {
                resolveLocked(fs, dedicated);
            }
        }
        openDedicated(dedicated);
        return true;
    }

    /** The feed's start is known: the ring begins there and the waiting subscribers are resolved. */
    private void startedLocked(long first, List<FeedSubscription> dedicated) {
        if (ring != null || terminated) {
            return;
        }
        ring = new MessageRing(ringMessages, ringBytes, first);
        ringFirst = first;
        for (FeedSubscription fs : pending) {
            resolveLocked(fs, dedicated);
        }
        pending.clear();
    }

    /** Decides where a subscriber gets its first messages from. Started feed only. */
    private void resolveLocked(FeedSubscription fs, List<FeedSubscription> dedicated) {
        long first = ring.first();
        switch (fs.start.kind()) {
            case LATEST:
                attachLocked(fs, ring.next());
                return;
            case EARLIEST:
                if (first == 1) { // the ring holds the stream from its very first message
                    attachLocked(fs, 1);
                    return;
                }
                break;
            default:
                if (fs.start.sequence() >= first) {
                    attachLocked(fs, fs.start.sequence());
                    return;
                }
                break;
        }
        fs.mode = FeedSubscription.Mode.CATCHING_UP;
        catchingUp.add(fs);
        dedicated.add(fs);
    }

    /**
     * Joins {@code fs} to the live list at {@code from} (at least the ring's first sequence): replays
     * the ring from there, so the next live message continues it. Beyond the ring's end it waits for
     * {@code from}.
     */
    private void attachLocked(FeedSubscription fs, long from) {
        fs.from = from;
        fs.mode = FeedSubscription.Mode.LIVE;
        fs.completeStarted(from);
        for (long seq = from; seq < ring.next(); seq++) {
            fs.deliver(ring.get(seq));
        }
        FeedSubscription[] next = Arrays.copyOf(live, live.length + 1);
        next[live.length] = fs;
        live = next;
    }

    /** Opens the dedicated subscriptions of subscribers starting before the ring. Outside the lock. */
    private void openDedicated(List<FeedSubscription> list) {
        for (FeedSubscription fs : list) {
            Subscription d;
            try {
                d = client.subscribe(stream, fs.start, m -> onDedicated(fs, m));
            } catch (RuntimeException e) {
                if (remove(fs)) {
                    fs.end(e);
                }
                continue;
            }
            fs.dedicated = d;
            if (fs.mode != FeedSubscription.Mode.CATCHING_UP) {
                d.close(); // switched or ended meanwhile
                continue;
            }
            d.started().whenComplete((first, failure) -> {
                if (failure == null) {
                    fs.completeStarted(first);
                }
            });
            d.closed().whenComplete((ok, failure) -> dedicatedEnded(fs, failure));
        }
    }

    /** A message of a catching-up subscriber's dedicated subscription. Its dispatch thread. */
    private void onDedicated(FeedSubscription fs, Message m) {
        if (fs.mode != FeedSubscription.Mode.CATCHING_UP) {
            return; // switched to the feed (or ended): the feed delivers from here
        }
        long seq = m.sequence();
        if (seq >= ringFirst && trySwitch(fs, seq)) {
            return;
        }
        fs.completeStarted(seq);
        fs.deliver(m);
        if (seq + 1 >= ringFirst) {
            trySwitch(fs, seq + 1);
        }
    }

    /** Switches a catching-up subscriber whose next sequence is {@code from} to the feed, if the ring reaches it. */
    private boolean trySwitch(FeedSubscription fs, long from) {
        synchronized (this) {
            if (terminated || ring == null || fs.mode != FeedSubscription.Mode.CATCHING_UP || from < ring.first()) {
                return false;
            }
            catchingUp.remove(fs);
            attachLocked(fs, from);
        }
        Subscription d = fs.dedicated;
        if (d != null) {
            d.close();
        }
        return true;
    }

    /** A dedicated subscription ended: if its subscriber still depends on it, the subscriber ends the same way. */
    private void dedicatedEnded(FeedSubscription fs, Throwable failure) {
        synchronized (this) {
            if (fs.mode != FeedSubscription.Mode.CATCHING_UP || !catchingUp.remove(fs)) {
                return; // switched to the feed or closed: we closed it
            }
            fs.mode = FeedSubscription.Mode.ENDED;
            lingerIfIdleLocked();
        }
        fs.end(failure);
    }

    /** The feed's handler: a live message. The feed subscription's dispatch thread, in order. */
    private void onMessage(Message m) {
        FeedSubscription[] targets;
        List<FeedSubscription> dedicated = null;
        synchronized (this) {
            if (terminated) {
                return;
            }
            if (ring == null) { // delivered before the started() callback ran
                dedicated = new ArrayList<>();
                startedLocked(m.sequence(), dedicated);
            }
            ring.append(m);
            ringFirst = ring.first();
            targets = live;
        }
        if (dedicated != null) {
            openDedicated(dedicated);
        }
        long seq = m.sequence();
        SharedEncodings.begin(m); // the subscribers share one encoding of it
        try {
            for (FeedSubscription fs : targets) {
                if (seq >= fs.from && fs.mode == FeedSubscription.Mode.LIVE) {
                    fs.deliver(m);
                }
            }
        } finally {
            SharedEncodings.end();
        }
    }

    /** Detaches a subscriber; true when it was still attached (the caller ends it). Any thread. */
    boolean remove(FeedSubscription fs) {
        synchronized (this) {
            FeedSubscription.Mode was = fs.mode;
            if (was == FeedSubscription.Mode.ENDED) {
                return false;
            }
            fs.mode = FeedSubscription.Mode.ENDED;
            if (was == FeedSubscription.Mode.LIVE) {
                int i = Arrays.asList(live).indexOf(fs);
                if (i >= 0) {
                    FeedSubscription[] next = new FeedSubscription[live.length - 1];
                    System.arraycopy(live, 0, next, 0, i);
                    System.arraycopy(live, i + 1, next, i, live.length - i - 1);
                    live = next;
                }
            } else if (was == FeedSubscription.Mode.PENDING) {
                pending.remove(fs);
            } else {
                catchingUp.remove(fs);
            }
            lingerIfIdleLocked();
            return true;
        }
    }

    private int membersLocked() {
        return live.length + pending.size() + catchingUp.size();
    }

    private void lingerIfIdleLocked() {
        if (terminated || membersLocked() > 0 || linger != null) {
            return;
        }
        long token = ++lingerToken;
        ScheduledExecutorService scheduler = owner.scheduler();
        if (scheduler != null) {
            try {
                linger = scheduler.schedule(() -> lingerExpired(token), owner.lingerNanos(), TimeUnit.NANOSECONDS);
                return;
            } catch (RejectedExecutionException e) {
                // the gateway is stopping: close at once
            }
        }
        terminated = true;
        owner.removed(this);
        closeSubscription();
    }

    private void cancelLingerLocked() {
        lingerToken++;
        if (linger != null) {
            linger.cancel(false);
            linger = null;
        }
    }

    private void lingerExpired(long token) {
        synchronized (this) {
            if (token != lingerToken || terminated || membersLocked() > 0) {
                return;
            }
            terminated = true;
            linger = null;
        }
        owner.removed(this);
        closeSubscription();
    }

    private void closeSubscription() {
        Subscription sub;
        synchronized (this) {
            sub = subscription;
        }
        if (sub != null) {
            sub.close();
        }
    }

    /**
     * The feed's client subscription ended. Unless the feed itself closed it, every subscriber ends
     * the same way: exceptionally as the broker or the client said, normally when the client was closed.
     */
    void ended(Throwable failure) {
        List<FeedSubscription> members;
        synchronized (this) {
            if (terminated) {
                return;
            }
            terminated = true;
            endedBySource = true;
            endCause = failure;
            cancelLingerLocked();
            members = new ArrayList<>(membersLocked());
            members.addAll(Arrays.asList(live));
            members.addAll(pending);
            members.addAll(catchingUp);
            for (FeedSubscription fs : members) {
                fs.mode = FeedSubscription.Mode.ENDED;
            }
            live = NONE;
            pending.clear();
            catchingUp.clear();
        }
        owner.removed(this);
        Throwable cause = unwrap(failure);
        for (FeedSubscription fs : members) {
            fs.end(cause);
        }
    }

    private synchronized Throwable endCauseSnapshot() {
        return endCause;
    }

    private static Throwable unwrap(Throwable failure) {
        return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
    }

    /** Closes the feed and ends its subscribers normally (the gateway is stopping). */
    void close() {
        List<FeedSubscription> members;
        synchronized (this) {
            if (terminated) {
                return;
            }
            terminated = true;
            cancelLingerLocked();
            members = new ArrayList<>(Arrays.asList(live));
            members.addAll(pending);
            members.addAll(catchingUp);
            for (FeedSubscription fs : members) {
                fs.mode = FeedSubscription.Mode.ENDED;
            }
            live = NONE;
            pending.clear();
            catchingUp.clear();
        }
        closeSubscription();
        for (FeedSubscription fs : members) {
            fs.end(null);
        }
    }

    /** For tests and metrics: subscribers attached, pending and catching up. */
    synchronized int subscribers() {
        return membersLocked();
    }

    /** For tests: subscribers catching up on a dedicated subscription. */
    synchronized int catchingUp() {
        return catchingUp.size();
    }

    /** For tests: messages and bytes the ring holds. */
    synchronized long[] ringUsage() {
        return ring == null ? new long[] {0, 0} : new long[] {ring.count(), ring.bytes()};
    }

    /** A fresh subscriber of this feed (not yet added). */
    FeedSubscription newSubscriber(StartPosition start, MessageHandler handler) {
        return new FeedSubscription(this, start, handler);
    }
}
