package dev.wirebus.store.redis;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.server.internal.BrokerException;
import dev.wirebus.server.internal.ConsumerPositions;
import dev.wirebus.server.internal.ProducerTable;
import dev.wirebus.server.internal.SharedStreamLog;
import dev.wirebus.server.internal.SliceCollector;
import dev.wirebus.server.internal.Stream;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongConsumer;

/**
 * One stream kept in Redis and shared by every broker on that Redis. Its records are a Redis stream
 * with one entry per appended batch, whose id is {@code <first sequence>-0}; the stream, its
 * metadata (next and first retained sequence, retained bytes), its idempotent producers and its durable consumers
 * share the hash tag {@code {name}}, so they sit in one Cluster slot and one Lua script
 * ({@code append.lua}) checks and appends a batch atomically.
 *
 * <p>Reads are served from a bounded in-memory tail of the stream ({@code cache} records), filled
 * in sequence order by the store's tailer from every broker's appends; older records are read from
 * Redis. The tail is what the stream may show: {@link #nextSequence()} is the end of it, and
 * {@link #onVisible} hears each time it grows.
 *
 * <p>Retention (messages, bytes, age) and TRIM_STREAM drop whole batches from the front in Redis
 * ({@code append.lua}, {@code retain.lua}), for every broker; each broker learns the new first
 * sequence from the announcement.
 *
 * <p>The log belongs to one generation of the stream (meta {@code gen}, which DELETE_STREAM
 * increments): Redis refuses its appends and positions once the stream was deleted ({@code GONE}),
 * and its reads check the generation, so a broker that missed the deletion never mixes the deleted
 * stream's records with those of the stream created anew; the store then drops the log
 * ({@link RedisStorage#deleted}) and its held publishes fail with NOT_FOUND.
 *
 * <p>Publishes a gating consumer refuses are held here, in arrival order, and tried again when a
 * consumer acknowledges (on any broker: the position script announces it) or every
 * {@link RedisStorage#GATE_RETRY_MILLIS}, until the publish wait passes.
 *
 * <p>Threading: the {@link dev.wirebus.server.internal.StreamLog} methods run under the stream's
 * lock and take this log's monitor; appends and the tailer may run on any thread.
 */
final class RedisStreamLog implements SharedStreamLog {
    static final int MAX_HELD_PUBLISHES = 100_000;
    static final long MAX_HELD_BYTES = 64L * 1024 * 1024;

    private final RedisStorage store;
    private final String name;
    final String[] keys;
    /** The stream's generation in Redis when this log was opened (meta {@code gen}; 0 before any deletion). */
    final long generation;
    private final byte[] generationArg;
    private final int cacheRecords;

    /** Guarded by this: the tail, by first sequence of each batch; contiguous from cacheFirst to cacheNext. */
    private final TreeMap<Long, RecordBatch> cache = new TreeMap<>();
    private long cacheFirst;
    private long cacheNext;
    private long cachedRecords;
    /** Guarded by this: first retained sequence as last learnt from Redis. */
    private long first;
    /** Guarded by this: bytes retained in Redis, as last read there. */
    private long retainedBytes;
    /** Guarded by this: highest next sequence announced (by an append's answer or a notification). */
    private long target;
    private volatile LongConsumer visible = next -> { };
    /** Held while reading Redis into the tail, so the tailer and a catch-up on attach do not race. */
    private final ReentrantLock filling = new ReentrantLock();

    /** Guarded by held: publishes waiting for a gate. */
    private final ArrayDeque<Pending> held = new ArrayDeque<>();
    private long heldBytes;
    private boolean retrying;
    /** Guarded by held: the stream was deleted (by any broker); publishes fail with NOT_FOUND. */
    private boolean gone;

    RedisStreamLog(RedisStorage store, String name, long generation, long next, long first) {
        this.store = store;
        this.name = name;
        this.keys = store.keys(name);
        this.generation = generation;
        this.generationArg = bytes(Long.toString(generation));
        this.cacheRecords = store.settings().cacheRecords();
        this.cacheFirst = next;
        this.cacheNext = next;
        this.first = first;
        this.target = next;
    }

    String name() {
        return name;
    }

    /** A publish on its way to Redis, or held by a gate. */
    private static final class Pending {
        final RecordBatch records;
        final byte[] data;
        final long expected;
        final String producerId;
        final long producerSequence;
        final Stream.AppendListener listener;
        final long maxWaitMillis;
        final long deadlineNanos;
        long heldSinceNanos = System.nanoTime();
        String gate;

        Pending(RecordBatch records, long expected, String producerId, long producerSequence,
                Stream.AppendListener listener, long maxWaitMillis) {
            this.records = records;
            this.data = new byte[records.sizeInBytes()];
            records.writeTo(Unpooled.wrappedBuffer(data).clear(), 0, records.count());
            this.expected = expected;
            this.producerId = producerId;
            this.producerSequence = producerSequence;
            this.listener = listener;
            this.maxWaitMillis = maxWaitMillis;
            this.deadlineNanos = System.nanoTime() + maxWaitMillis * 1_000_000L;
        }
    }

    // ------------------------------------------------------------------ appends

    /** Most publishes, and bytes of records, one script call carries. */
    static final int GROUP_PUBLISHES = 64;
    static final int GROUP_BYTES = 4 * 1024 * 1024;

    /** Guarded by held: publishes waiting for the group in flight to be answered. */
    private final ArrayDeque<Pending> queued = new ArrayDeque<>();
    /** Guarded by held: a group is in flight (one at a time per stream and node, so groups keep their order). */
    private boolean sending;

    @Override
    public void appendShared(RecordBatch records, long expectedSequence, String producerId, long producerSequence,
                             Stream.AppendListener listener, long maxWaitMillis) {
        Pending p = new Pending(records, expectedSequence, producerId, producerSequence, listener, maxWaitMillis);
        synchronized (held) {
            if (gone) {
                p.listener.appended(0, 0, deletedError("nothing was appended"));
                return;
            }
            if (!held.isEmpty() || retrying) {
                hold(p);
                return;
            }
            if (sending) {
                queued.add(p); // goes with the next group, as soon as the one in flight is answered
                return;
            }
            sending = true;
        }
        send(List.of(p), false);
    }

    /** Guarded by held: queues a publish behind the held ones, or refuses it when too many are held. */
    private void hold(Pending p) {
        if (gone) {
            p.listener.appended(0, 0, deletedError("nothing was appended"));
            return;
        }
        if (held.size() >= MAX_HELD_PUBLISHES || heldBytes + p.data.length > MAX_HELD_BYTES) {
            store.metrics().gateRejected();
            p.listener.appended(0, 0, new BrokerException(ErrorCode.BACKPRESSURE, "stream '" + name + "' holds "
                    + held.size() + " publishes (" + heldBytes + " bytes) waiting for "
                    + (held.isEmpty() || held.peek().gate == null ? "a gating consumer" : held.peek().gate),
                    ErrorFields.of(ErrorFields.RETRY_AFTER_MILLIS, 100)));
            return;
        }
        held.add(p);
        heldBytes += p.data.length;
        store.scheduleGateRetry(this);
    }

    /**
     * Runs the append script for a group of publishes, in order; {@code retry} for the held head
     * alone. Whatever queued meanwhile goes next, as one group.
     */
    private void send(List<Pending> group, boolean retry) {
        if (!store.isAvailable()) {
            // the last check found Redis gone: refuse now rather than queue behind a dead connection
            BrokerException down = store.refusedWhileDown("append to stream '" + name + "'");
            for (Pending p : group) {
                p.listener.appended(0, 0, down);
            }
            groupDone(group, retry, List.of());
            return;
        }
        long start = System.nanoTime();
        byte[][] args = new byte[5 + 5 * group.size() + 1][];
        args[0] = bytes(store.eventsChannel());
        args[1] = bytes(name);
        args[2] = bytes(store.retention(name));
        args[3] = bytes(Integer.toString(ProducerTable.REMEMBERED_BATCHES));
        args[4] = bytes(Integer.toString(group.size()));
        int at = 5;
        for (Pending p : group) {
            args[at++] = bytes(Integer.toString(p.records.count()));
            args[at++] = p.data;
            args[at++] = bytes(Long.toString(p.expected));
            args[at++] = bytes(p.producerId == null ? "" : p.producerId);
            args[at++] = bytes(Long.toString(p.producerId == null ? 0 : p.producerSequence));
        }
        args[at] = generationArg; // last, after the repeated groups: append.lua reads it as ARGV[#ARGV]
        store.appendStarted();
        store.append().run(store.commands(), keys, args)
                .thenCompose(reply -> store.waitReplicas(reply))
                .whenComplete((reply, failure) -> {
                    store.appendEnded(System.nanoTime() - start, failure);
                    List<Pending> gated = new java.util.ArrayList<>();
                    if (failure != null) {
                        BrokerException e = store.unavailable(failure, "append to stream '" + name + "'");
                        for (Pending p : group) {
                            p.listener.appended(0, 0, e);
                        }
                    } else if (LuaScript.text(reply.get(0)).equals("GONE")) {
                        // deleted by another broker, whose event this one has not acted on yet: nothing was
                        // appended; the publisher's next publish creates the stream anew
                        BrokerException e = deletedError("nothing was appended");
                        for (Pending p : group) {
                            p.listener.appended(0, 0, e);
                        }
                        store.deleted(this);
                    } else {
                        for (int i = 0; i < group.size(); i++) {
                            Pending p = group.get(i);
                            if (!judge(p, reply.subList(4 * i, 4 * i + 4))) {
                                gated.add(p);
                            }
                        }
                    }
                    groupDone(group, retry, gated);
                });
    }

    /**
     * A group was answered. Publishes the gate held (and those not tried after them) go to the
     * held queue, ahead of what queued meanwhile; otherwise the queued ones go as the next group.
     */
    private void groupDone(List<Pending> group, boolean retry, List<Pending> gated) {
        List<Pending> next = null;
        boolean tryHeld = false;
        synchronized (held) {
            if (retry) {
                retrying = false;
                if (gated.isEmpty()) {
                    Pending head = group.get(0);
                    if (held.peek() == head) {
                        held.poll();
                        heldBytes -= head.data.length;
                        store.metrics().heldNanos(System.nanoTime() - head.heldSinceNanos);
                    }
                    tryHeld = true; // the next held one may fit too
                } else {
                    store.scheduleGateRetry(this); // the head stays first
                }
            } else {
                sending = false;
                for (Pending p : gated) {
                    p.heldSinceNanos = System.nanoTime();
                    hold(p);
                }
                if (!held.isEmpty()) {
                    while (!queued.isEmpty()) {
                        Pending p = queued.poll();
                        p.heldSinceNanos = System.nanoTime();
                        hold(p);
                    }
                } else if (!queued.isEmpty()) {
                    next = new java.util.ArrayList<>();
                    long bytes = 0;
                    while (!queued.isEmpty() && next.size() < GROUP_PUBLISHES
                            && (next.isEmpty() || bytes + queued.peek().data.length <= GROUP_BYTES)) {
                        Pending p = queued.poll();
                        bytes += p.data.length;
                        next.add(p);
                    }
                    sending = true;
                }
            }
        }
        if (next != null) {
            send(next, false);
        }
        if (tryHeld) {
            retryHeld();
        }
    }

    /** Answers one publish of a group; false when the gate held it (or it was not tried after one that was). */
    private boolean judge(Pending p, List<Object> reply) {
        String verdict = LuaScript.text(reply.get(0));
        switch (verdict) {
            case "OK" -> {
                long firstSeq = LuaScript.number(reply.get(1));
                long firstRetained = LuaScript.number(reply.get(2));
                int count = p.records.count();
                if (appendedHere(firstSeq, p.records, firstRetained)) {
                    p.listener.appended(firstSeq, count, null);
                } else {
                    ackWhenInTail(firstSeq + count, () -> p.listener.appended(firstSeq, count, null));
                }
            }
            case "DUP" -> {
                // appended before, perhaps through another node: answered once this node's tail holds it too
                long dupFirst = LuaScript.number(reply.get(1));
                int dupCount = (int) LuaScript.number(reply.get(2));
                ackWhenInTail(dupFirst + dupCount, () -> p.listener.duplicate(dupFirst, dupCount));
            }
            case "MISMATCH" -> {
                long last = LuaScript.number(reply.get(1));
                p.listener.appended(0, 0, new BrokerException(ErrorCode.SEQUENCE_MISMATCH, "stream '" + name
                        + "' is at last sequence " + last + "; expected sequence " + p.expected + " is not "
                        + (last + 1), ErrorFields.of(ErrorFields.LAST_SEQUENCE, last)));
            }
            case "PSEQ" -> {
                long last = LuaScript.number(reply.get(1));
                long oldest = LuaScript.number(reply.get(2));
                String why = p.producerSequence < oldest
                        ? " is older than the last " + ProducerTable.REMEMBERED_BATCHES + " batches remembered (from "
                        + oldest + " to " + last + "); if it was appended, it was appended once; nothing was appended now"
                        : " was never appended and is below the last one, " + last + " (out of order); nothing was appended";
                p.listener.appended(0, 0, new BrokerException(ErrorCode.PRODUCER_SEQUENCE, "producer '"
                        + p.producerId + "' on stream '" + name + "': producer sequence " + p.producerSequence + why,
                        ErrorFields.of(ErrorFields.LAST_PRODUCER_SEQUENCE, last)));
            }
            case "GATED" -> {
                p.gate = "consumer '" + LuaScript.text(reply.get(1)) + "' (lag " + LuaScript.text(reply.get(2))
                        + ", max lag " + LuaScript.text(reply.get(3)) + ")";
                return false;
            }
            case "SKIPPED" -> {
                return false;
            }
            default -> p.listener.appended(0, 0, new BrokerException(ErrorCode.INTERNAL, "stream '" + name
                    + "': the append script answered '" + verdict + "'"));
        }
        return true;
    }

    /**
     * Tries the first held publish again (a consumer acknowledged, or the retry timer fired), and
     * fails the held publishes whose wait is over. Any thread.
     */
    void retryHeld() {
        Pending head;
        List<Pending> expired = new java.util.ArrayList<>();
        synchronized (held) {
            long now = System.nanoTime();
            for (java.util.Iterator<Pending> it = held.iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if ((p != held.peek() || !retrying) && now - p.deadlineNanos >= 0) {
                    it.remove();
                    heldBytes -= p.data.length;
                    expired.add(p);
                }
            }
            head = retrying || sending ? null : held.peek();
            if (head != null) {
                retrying = true;
            }
        }
        for (Pending p : expired) {
            store.metrics().gateRejected();
            store.metrics().heldNanos(System.nanoTime() - p.heldSinceNanos);
            p.listener.appended(0, 0, new BrokerException(ErrorCode.TIMEOUT, "publish to stream '" + name
                    + "' waited " + p.maxWaitMillis + " ms for " + (p.gate == null ? "the publishes ahead of it" : p.gate)
                    + "; nothing was appended"));
        }
        if (head != null) {
            send(List.of(head), true);
        }
    }

    /** The error for a publish to this log once its stream was deleted. */
    private BrokerException deletedError(String what) {
        return new BrokerException(ErrorCode.NOT_FOUND, "stream '" + name + "' was deleted; " + what);
    }

    /**
     * The stream was deleted (by this broker or another): publishes held or queued here fail with
     * NOT_FOUND, later ones too. Any thread.
     *
     * @return false when it had been called before
     */
    boolean gone() {
        List<Pending> failed = new java.util.ArrayList<>();
        synchronized (held) {
            if (gone) {
                return false;
            }
            gone = true;
            failed.addAll(held);
            failed.addAll(queued);
            held.clear();
            queued.clear();
            heldBytes = 0;
        }
        for (Pending p : failed) {
            p.listener.appended(0, 0, deletedError("the publish was held and nothing was appended"));
        }
        return true;
    }

    /** Whether a generation read from Redis (meta {@code gen}, null when unset) is this log's. */
    boolean current(byte[] gen) {
        return (gen == null ? 0 : Long.parseLong(new String(gen, StandardCharsets.US_ASCII))) == generation;
    }

    /** Whether publishes wait for a gate here. */
    boolean holding() {
        synchronized (held) {
            return !held.isEmpty();
        }
    }

    // ------------------------------------------------------------------ the tail

    /**
     * Redis holds records up to {@code next} (an append's answer or another broker's notification):
     * the tailer reads them in.
     */
    void announced(long next, long firstRetained) {
        boolean more;
        synchronized (this) {
            if (firstRetained > first) {
                first = firstRetained;
            }
            if (next > target) {
                target = next;
            }
            more = target > cacheNext;
        }
        if (more) {
            store.scheduleFill(this);
        }
    }

    /**
     * This node's append landed at {@code first}: when it continues the tail, it joins it at once
     * (no read back from Redis, and local subscribers see it without waiting for the tailer);
     * otherwise another node appended in between and the tailer reads both in order.
     */
    private boolean appendedHere(long first, RecordBatch records, long firstRetained) {
        long end = -1;
        synchronized (this) {
            if (firstRetained > this.first) {
                this.first = firstRetained;
            }
            if (first == cacheNext) {
                cache.put(first, records);
                cachedRecords += records.count();
                cacheNext = first + records.count();
                trimTail();
                end = cacheNext;
            }
        }
        if (end < 0) {
            announced(first + records.count(), firstRetained);
            return false;
        }
        visible.accept(end);
        releaseAcks(end);
        return true;
    }

    // ------------------------------------------------------------------ acks after the tail

    /** An acknowledgement held until this broker's tail holds the records it acknowledges. */
    private record HeldAck(long end, Runnable ack, long deadlineNanos) {
    }

    /** Guarded by this: acknowledgements in order of their end (appends of one stream end in order). */
    private final ArrayDeque<HeldAck> heldAcks = new ArrayDeque<>();

    /**
     * Another broker appended just before this one's append (or appended the duplicate being
     * answered), and the tail has not read it yet: the ack waits until the tail reaches {@code end}, so a client that reads from this broker after
     * the ack sees its own records (read-your-writes on one broker). Bounded by the appends in
     * flight; each waits at most the store's timeout, then is sent anyway (the records are in
     * Redis; only this broker's view is late).
     */
    private void ackWhenInTail(long end, Runnable ack) {
        long next;
        synchronized (this) {
            heldAcks.add(new HeldAck(end, ack, System.nanoTime() + store.settings().timeout().toNanos()));
            next = cacheNext;
        }
        if (next < end) {
            announced(end, 0); // Redis holds the records up to end: the tailer reads them in
        }
        releaseAcks(next); // at once when the tail got there meanwhile, after the acks before it

    }

    /** Sends the held acks the tail now covers (it reached {@code next}). */
    private void releaseAcks(long next) {
        List<Runnable> ready = null;
        synchronized (this) {
            while (!heldAcks.isEmpty() && heldAcks.peek().end() <= next) {
                if (ready == null) {
                    ready = new java.util.ArrayList<>();
                }
                ready.add(heldAcks.poll().ack());
            }
        }
        if (ready != null) {
            ready.forEach(Runnable::run);
        }
    }

    /** Sends the held acks whose wait is over (the store's periodic check; the tail could not be read). */
    void expireHeldAcks() {
        List<Runnable> due = null;
        synchronized (this) {
            long now = System.nanoTime();
            while (!heldAcks.isEmpty() && now - heldAcks.peek().deadlineNanos() >= 0) {
                if (due == null) {
                    due = new java.util.ArrayList<>();
                }
                due.add(heldAcks.poll().ack());
            }
        }
        if (due != null) {
            due.forEach(Runnable::run);
        }
    }

    /** Guarded by this: keeps the tail within its record budget (one batch at least). */
    private void trimTail() {
        while (cachedRecords > cacheRecords && cache.size() > 1) {
            Map.Entry<Long, RecordBatch> e = cache.pollFirstEntry();
            cachedRecords -= e.getValue().count();
            cacheFirst = cache.firstKey();
        }
        if (cacheNext > target) {
            target = cacheNext;
        }
    }

    /**
     * Reads what Redis holds past the tail into it and announces the new end; blocking, on the
     * tailer or a broker thread. Returns false when Redis could not be read.
     */
    boolean fill() {
        filling.lock();
        try {
            while (true) {
                long from;
                long announced;
                synchronized (this) {
                    from = cacheNext;
                    announced = target; // learnt before the read is sent, so Redis held these records before it ran
                }
                io.lettuce.core.RedisFuture<List<StreamMessage<String, byte[]>>> read = store.commands()
                        .xrange(keys[0], Range.create(from + "-0", "+"), Limit.from(256));
                // sent after the XRANGE on the same connection, so run after it: when the generation is still
                // this log's, what the XRANGE read was too (a generation never goes back)
                io.lettuce.core.RedisFuture<byte[]> gen = store.commands().hget(keys[1], "gen");
                List<StreamMessage<String, byte[]>> entries = store.sync(read, "read stream '" + name + "'");
                if (!current(store.sync(gen, "read stream '" + name + "'"))) {
                    store.deleted(this);
                    return true;
                }
                if (entries.isEmpty()) {
                    skipDropped(from, announced);
                    return true;
                }
                long end;
                synchronized (this) {
                    for (StreamMessage<String, byte[]> m : entries) {
                        long f = entryFirst(m);
                        RecordBatch b = batch(m);
                        if (f < cacheNext) {
                            continue; // read twice (the tail moved meanwhile)
                        }
                        if (f > cacheNext) {
                            // retention dropped records before this broker read them: the tail starts over
                            cache.clear();
                            cachedRecords = 0;
                            cacheFirst = f;
                            if (f > first) {
                                first = f;
                            }
                        }
                        cache.put(f, b);
                        cachedRecords += b.count();
                        cacheNext = f + b.count();
                    }
                    trimTail();
                    end = cacheNext;
                }
                visible.accept(end);
                releaseAcks(end);
                if (entries.size() < 256) {
                    return true;
                }
            }
        } catch (RuntimeException e) {
            store.readFailed(name, e);
            return false;
        } finally {
            filling.unlock();
        }
    }

    /**
     * A read from {@code from} (the tail's end) found no entry, though Redis had announced records
     * up to {@code announced} before the read ran: retention or TRIM_STREAM dropped every one of
     * them before this broker read them (Redis then holds nothing below {@code announced} from
     * {@code from} on). The tail starts over there, so its cursors learn they cannot go on without
     * a gap, and the tailer does not read for them again and again.
     */
    private void skipDropped(long from, long announced) {
        long end;
        synchronized (this) {
            if (cacheNext != from || announced <= cacheNext) {
                return; // the tail moved meanwhile (an append of this broker joined it), or nothing is missing
            }
            cache.clear();
            cachedRecords = 0;
            cacheFirst = announced;
            cacheNext = announced;
            if (announced > first) {
                first = announced;
            }
            end = cacheNext;
        }
        visible.accept(end);
        releaseAcks(end);
    }

    /** Records up to which the tail is behind what Redis announced. */
    synchronized boolean behind() {
        return target > cacheNext;
    }

    private static long entryFirst(StreamMessage<String, byte[]> m) {
        String id = m.getId();
        return Long.parseLong(id.substring(0, id.indexOf('-')));
    }

    private static RecordBatch batch(StreamMessage<String, byte[]> m) {
        Map<String, byte[]> body = m.getBody();
        long n = Long.parseLong(new String(body.get("n"), StandardCharsets.US_ASCII));
        return RecordBatch.read(Unpooled.wrappedBuffer(body.get("r")), n, 0);
    }

    // ------------------------------------------------------------------ StreamLog, under the stream's lock

    @Override
    public void onVisible(LongConsumer visibleNext) {
        this.visible = visibleNext;
    }

    @Override
    public ConsumerPositions.Saved storedConsumer(String consumer) {
        // the client may have been served up to Redis' end by another broker: take the tail that far first
        byte[] next = store.sync(store.commands().hget(keys[1], "next"), "read stream '" + name + "'");
        if (next != null) {
            announced(Long.parseLong(new String(next, StandardCharsets.US_ASCII)), 0);
            fill();
        }
        return store.positionsStore().loadOne(name, consumer);
    }

    @Override
    public long append(RecordBatch records) {
        throw new UnsupportedOperationException("a Redis stream is appended to through appendShared");
    }

    @Override
    public long append(RecordBatch records, String producerId, long producerSequence) {
        throw new UnsupportedOperationException("a Redis stream is appended to through appendShared");
    }

    /** Producers are judged by the append script in Redis; the broker keeps no table of its own. */
    @Override
    public ProducerTable producers() {
        return new ProducerTable(0);
    }

    @Override
    public synchronized long firstSequence() {
        return Math.min(first, cacheNext);
    }

    /** Reads the first retained sequence from Redis (another broker's append may have trimmed past this one's view). */
    @Override
    public long firstRetainedNow() {
        try {
            byte[] f = store.sync(store.commands().hget(keys[1], "first"), "read stream '" + name + "'");
            if (f != null) {
                long fresh = Long.parseLong(new String(f, StandardCharsets.US_ASCII));
                synchronized (this) {
                    if (fresh > first) {
                        first = fresh;
                    }
                    return Math.max(fresh, Math.min(first, cacheNext));
                }
            }
        } catch (RuntimeException e) {
            // Redis unreachable: this broker's view is the best answer there is
        }
        return firstSequence();
    }

    // ------------------------------------------------------------------ retention

    /**
     * Runs {@code retain.lua}: drops what the stream's retention (or {@code before}, TRIM_STREAM)
     * no longer keeps; it announces a new first sequence to every broker itself. Any thread.
     */
    CompletableFuture<List<Object>> applyRetention(long before) {
        return store.retain().run(store.commands(), new String[] {keys[0], keys[1]}, bytes(store.eventsChannel()),
                bytes(name), bytes(store.retention(name)), bytes(Long.toString(before)), generationArg);
    }

    /**
     * Takes the answer of {@code retain.lua} (first retained sequence, bytes, more to drop) into
     * this broker's view; returns whether more remains to drop.
     */
    boolean retained(List<Object> reply) {
        long fresh = LuaScript.number(reply.get(0));
        if (LuaScript.number(reply.get(1)) < 0) {
            return false; // the stream was deleted since this log was opened: the store's check drops the log
        }
        synchronized (this) {
            if (fresh > first) {
                first = fresh;
            }
            retainedBytes = LuaScript.number(reply.get(1));
        }
        return LuaScript.text(reply.get(2)).equals("1");
    }

    /**
     * TRIM_STREAM: drops whole batches that end at or below {@code before} in Redis, for every
     * broker (bounded script calls of at most 1024 batches each, until none is left to drop).
     */
    @Override
    public long trimBefore(long before) {
        while (retained(store.sync(applyRetention(before), "trim stream '" + name + "'"))) {
            // the script stopped at its bound: go on from where it stopped
        }
        return firstSequence();
    }

    /**
     * Bytes of records Redis retains for the stream (the {@code bytes} of its meta, shared by every
     * broker), read now; the last known when Redis does not answer. For STREAMS listings.
     */
    @Override
    public long retainedBytes() {
        try {
            byte[] b = store.sync(store.commands().hget(keys[1], "bytes"), "read stream '" + name + "'");
            long fresh = b == null ? 0 : Long.parseLong(new String(b, StandardCharsets.US_ASCII));
            synchronized (this) {
                retainedBytes = fresh;
            }
            return fresh;
        } catch (RuntimeException e) {
            synchronized (this) {
                return retainedBytes;
            }
        }
    }

    @Override
    public synchronized long nextSequence() {
        return cacheNext;
    }

    @Override
    public synchronized int read(long from, int maxRecords, int maxBytes, List<Slice> out) {
        SliceCollector slices = new SliceCollector(from, maxRecords, maxBytes, out);
        if (from >= cacheFirst && !cache.isEmpty()) {
            Long at = cache.floorKey(from);
            for (Map.Entry<Long, RecordBatch> e : cache.tailMap(at, true).entrySet()) {
                if (!slices.offer(e.getKey(), e.getValue())) {
                    break;
                }
            }
            return slices.taken();
        }
        // below the tail: read Redis (the entry holding 'from', then on)
        List<StreamMessage<String, byte[]>> before = store.sync(store.commands()
                .xrevrange(keys[0], Range.create("-", from + "-0"), Limit.from(1)), "read stream '" + name + "'");
        long start = from;
        if (!before.isEmpty()) {
            long f = entryFirst(before.get(0));
            if (f + batch(before.get(0)).count() > from) {
                start = f;
            }
        }
        io.lettuce.core.RedisFuture<List<StreamMessage<String, byte[]>>> read = store.commands()
                .xrange(keys[0], Range.create(start + "-0", "+"), Limit.from(64));
        io.lettuce.core.RedisFuture<byte[]> gen = store.commands().hget(keys[1], "gen"); // after it, as in fill()
        List<StreamMessage<String, byte[]>> entries = store.sync(read, "read stream '" + name + "'");
        if (!current(store.sync(gen, "read stream '" + name + "'"))) {
            store.deleted(this);
            throw deletedError("its records are gone");
        }
        if (entries.isEmpty() || entryFirst(entries.get(0)) > from) {
            long retained = entries.isEmpty() ? cacheFirst : entryFirst(entries.get(0));
            if (retained > first) {
                first = retained;
            }
            throw new BrokerException(ErrorCode.SEQUENCE_NOT_RETAINED, "stream '" + name + "' retains sequences from "
                    + retained + "; sequence " + from + " is no longer available",
                    ErrorFields.of(ErrorFields.FIRST_RETAINED_SEQUENCE, retained));
        }
        for (StreamMessage<String, byte[]> m : entries) {
            long f = entryFirst(m);
            if (f >= cacheFirst && !cache.isEmpty()) {
                break; // the rest comes from the tail on the next read
            }
            if (!slices.offer(f, batch(m))) {
                break;
            }
        }
        return slices.taken();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
