package dev.wirebus.client;

import dev.wirebus.protocol.RecordBatch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A publisher for high message rates: callers put messages in bounded queues, one per worker; N
 * workers, each with its own persistent connection, take them off in runs and send each run as one
 * PUBLISH_BATCH frame, keeping a few batches in flight per connection. A stream always goes to the
 * same worker (by the hash of its name).
 *
 * <p>When the queue is full, a caller either waits up to {@link Builder#blockTimeout} or is refused
 * at once ({@link WhenFull}). {@link #publish} gives a future per message that completes with its
 * sequence; {@link #send} is fire-and-forget and returns whether the message was queued. Every
 * message is sent at most once: a batch whose connection fails is not resent (its outcome is
 * unknown); its futures fail with {@link ConnectionException}, or, for fire-and-forget messages,
 * the {@link Builder#errorListener} hears of it and {@link #failedCount()} counts them. Nothing is
 * dropped silently.
 *
 * <p>Order: messages published from one thread reach each stream in the order they were queued,
 * whatever the number of workers, because all messages of a stream go through one worker's queue
 * and connection. Several streams spread over the workers.
 *
 * <pre>{@code
 * try (BatchingPublisher pub = BatchingPublisher.builder().address("unix:///run/wirebus.sock").workers(4).build()) {
 *     pub.publish("tx", payload).thenAccept(seq -> log.debug("tx at {}", seq));
 *     pub.send("metrics", sample);          // fire-and-forget
 *     pub.flush(Duration.ofSeconds(5));     // wait until everything queued is acknowledged
 * }
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class BatchingPublisher implements AutoCloseable {
    /** What a caller gets when the queue is full. */
    public enum WhenFull {
        /** Wait for room up to {@link Builder#blockTimeout}, then fail / return false. */
        BLOCK,
        /** Fail / return false at once. */
        REJECT
    }

    private static final class Entry {
        final String stream;
        final byte[] payload;
        final CompletableFuture<Long> future;

        Entry(String stream, byte[] payload, CompletableFuture<Long> future) {
            this.stream = stream;
            this.payload = payload;
            this.future = future;
        }
    }

    private static final Entry POISON = new Entry("", new byte[0], null);

    private final Builder config;
    private final ArrayBlockingQueue<Entry>[] queues;
    private final List<Worker> workers = new ArrayList<>();
    private final AtomicLong acked = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong queuedTotal = new AtomicLong();
    private final Object settledSignal = new Object();
    private int flushWaiters;
    private volatile boolean closed;

    private BatchingPublisher(Builder b) {
        this.config = b;
        @SuppressWarnings("unchecked")
        ArrayBlockingQueue<Entry>[] qs = new ArrayBlockingQueue[b.workers];
        for (int i = 0; i < qs.length; i++) {
            qs[i] = new ArrayBlockingQueue<>(Math.max(1, b.queueCapacity / b.workers));
        }
        this.queues = qs;
        try {
            for (int i = 0; i < b.workers; i++) {
                WirebusClient client = WirebusClient.builder().address(b.address).name(b.name + "-" + i)
                        .requestTimeout(b.requestTimeout).maxInFlight(Math.max(1, b.maxInFlightBatches * 2))
                        .connect();
                workers.add(new Worker(i, client, queues[i]));
            }
        } catch (RuntimeException e) {
            workers.forEach(w -> w.client.close());
            throw e;
        }
        workers.forEach(w -> w.thread.start());
    }

    /** A builder: one worker, a queue of 65,536 messages, batches up to 1,000 messages or 256 KiB. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Queues a message; the future completes with its sequence once the broker acknowledged it, or
     * fails ({@link BackpressureException} when not queued, {@link ConnectionException} when its
     * batch's connection failed, {@link WirebusTimeoutException}, or the broker's refusal).
     */
    public CompletableFuture<Long> publish(String stream, byte[] payload) {
        CompletableFuture<Long> f = new CompletableFuture<>();
        if (!enqueue(new Entry(Objects.requireNonNull(stream, "stream"), Objects.requireNonNull(payload, "payload"), f))) {
            f.completeExceptionally(new BackpressureException(closed ? "publisher is closed"
                    : "publish queue of " + config.queueCapacity + " messages is full"));
        }
        return f;
    }

    /**
     * Queues a message without a future. Returns false when it was not queued (queue full past the
     * deadline or with {@link WhenFull#REJECT}, or closed). Failures after queuing go to the error
     * listener and {@link #failedCount()}.
     */
    public boolean send(String stream, byte[] payload) {
        return enqueue(new Entry(Objects.requireNonNull(stream, "stream"), Objects.requireNonNull(payload, "payload"),
                null));
    }

    private boolean enqueue(Entry e) {
        if (closed) {
            rejected.incrementAndGet();
            return false;
        }
        ArrayBlockingQueue<Entry> queue = queues[Math.floorMod(e.stream.hashCode(), queues.length)];
        boolean ok;
        if (config.whenFull == WhenFull.REJECT) {
            ok = queue.offer(e);
        } else {
            try {
                ok = queue.offer(e) || queue.offer(e, config.blockTimeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                ok = false;
            }
        }
        if (ok && closed && queue.remove(e)) {
            ok = false; // close() raced with this call and may have drained already: refuse rather than strand it
        }
        if (ok) {
            queuedTotal.incrementAndGet();
        } else {
            rejected.incrementAndGet();
        }
        return ok;
    }

    /**
     * Waits until every message queued so far has been acknowledged or has failed.
     *
     * @return false when the deadline passed first
     */
    public boolean flush(Duration timeout) {
        long target = queuedTotal.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (settledSignal) {
            flushWaiters++;
            try {
                while (acked.get() + failed.get() < target) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(settledSignal, left);
                }
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } finally {
                flushWaiters--;
            }
        }
    }

    /** Messages acknowledged by the broker. */
    public long ackedCount() {
        return acked.get();
    }

    /** Messages that were queued and then failed (connection lost, refused, timed out). */
    public long failedCount() {
        return failed.get();
    }

    /** Messages not queued (full or closed). */
    public long rejectedCount() {
        return rejected.get();
    }

    /** Stops taking messages, sends what is queued (waiting up to the request timeout), closes connections. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        flush(config.requestTimeout);
        for (Worker w : workers) {
            w.stop();
        }
        // closing the connections fails what still waits for an answer at once, so no worker stays
        // blocked on a batch whose broker is gone; the workers then fail what they still hold
        for (Worker w : workers) {
            w.client.close();
        }
        for (Worker w : workers) {
            try {
                w.thread.join(config.requestTimeout.toMillis());
                if (w.thread.isAlive()) {
                    w.thread.interrupt();
                    w.thread.join(config.requestTimeout.toMillis());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (ArrayBlockingQueue<Entry> queue : queues) {
            Entry e;
            while ((e = queue.poll()) != null) {
                if (e != POISON) {
                    fail(List.of(e), new ConnectionException("publisher closed before the message was sent"));
                }
            }
        }
    }

    /** Wakes {@link #flush} callers after messages were acknowledged or failed. */
    private void signalSettled() {
        synchronized (settledSignal) {
            if (flushWaiters > 0) {
                settledSignal.notifyAll();
            }
        }
    }

    private void fail(List<Entry> entries, Throwable t) {
        int fireAndForget = 0;
        for (Entry e : entries) {
            if (e.future != null) {
                e.future.completeExceptionally(t);
            } else {
                fireAndForget++;
            }
        }
        failed.addAndGet(entries.size());
        signalSettled();
        if (fireAndForget > 0) {
            try {
                config.errorListener.accept(new WirebusException(
                        t instanceof WirebusException w ? w.errorCode() : dev.wirebus.protocol.ErrorCode.UNKNOWN,
                        fireAndForget + " fire-and-forget messages to stream '" + entries.get(0).stream
                                + "' failed: " + t.getMessage(), t));
            } catch (RuntimeException ignored) {
                // a failing listener must not stop the worker
            }
        }
    }

    private final class Worker implements Runnable {
        final WirebusClient client;
        final ArrayBlockingQueue<Entry> queue;
        final Thread thread;
        final Semaphore inFlight;
        final List<Entry> drained = new ArrayList<>();
        volatile boolean running = true;

        Worker(int index, WirebusClient client, ArrayBlockingQueue<Entry> queue) {
            this.client = client;
            this.queue = queue;
            this.inFlight = new Semaphore(config.maxInFlightBatches);
            this.thread = new Thread(this, config.name + "-worker-" + index);
            this.thread.setDaemon(true);
        }

        void stop() {
            running = false;
            queue.offer(POISON);
        }

        @Override
        public void run() {
            try {
                while (running || !queue.isEmpty()) {
                    Entry first = queue.poll(100, TimeUnit.MILLISECONDS);
                    if (first == null || first == POISON) {
                        continue;
                    }
                    drained.clear();
                    drained.add(first);
                    queue.drainTo(drained, config.maxBatchMessages - 1);
                    sendRuns();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Sends the drained entries as batches: consecutive entries of one stream, within the size limit. */
        private void sendRuns() throws InterruptedException {
            int i = 0;
            while (i < drained.size()) {
                Entry head = drained.get(i);
                if (head == POISON) {
                    i++;
                    continue;
                }
                int room = drained.size() - i;
                List<byte[]> payloads = new ArrayList<>(room);
                List<Entry> run = new ArrayList<>(room);
                int bytes = 0;
                while (i < drained.size()) {
                    Entry e = drained.get(i);
                    if (e == POISON) {
                        i++;
                        continue;
                    }
                    if (!e.stream.equals(head.stream) || (bytes > 0 && bytes + e.payload.length > config.maxBatchBytes)) {
                        break;
                    }
                    payloads.add(e.payload);
                    run.add(e);
                    bytes += e.payload.length + RecordBatch.RECORD_OVERHEAD;
                    i++;
                }
                boolean slot;
                try {
                    slot = inFlight.tryAcquire(config.requestTimeout.toNanos(), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    // stopped while holding messages: they fail, visibly, rather than vanish
                    List<Entry> rest = new ArrayList<>(run);
                    for (int k = i; k < drained.size(); k++) {
                        if (drained.get(k) != POISON) {
                            rest.add(drained.get(k));
                        }
                    }
                    fail(rest, new ConnectionException("publisher closed before the message was sent"));
                    throw e;
                }
                if (!slot) {
                    fail(run, new WirebusTimeoutException("no acknowledgement from the broker for "
                            + config.maxInFlightBatches + " batches within " + config.requestTimeout.toMillis() + " ms"));
                    continue;
                }
                client.publishBatch(head.stream, payloads)
                        .whenComplete((ack, t) -> {
                            inFlight.release();
                            if (t != null) {
                                fail(run, t);
                                return;
                            }
                            for (int k = 0; k < run.size(); k++) {
                                CompletableFuture<Long> f = run.get(k).future;
                                if (f != null) {
                                    f.complete(ack.firstSequence() + k);
                                }
                            }
                            acked.addAndGet(run.size());
                            signalSettled();
                        });
            }
        }
    }

    /**
     * Settings of a {@link BatchingPublisher}; each setter validates at once.
     *
     * <pre>{@code
     * BatchingPublisher.builder().address("tcp://10.0.0.5:7440").workers(4).queueCapacity(100_000)
     *     .whenFull(BatchingPublisher.WhenFull.REJECT).build();
     * }</pre>
     */
    public static final class Builder {
        private String address = WirebusClient.defaultAddress();
        private String name = "batching-publisher";
        private int workers = 1;
        private int queueCapacity = 65_536;
        private int maxBatchMessages = 1000;
        private int maxBatchBytes = 256 * 1024;
        private int maxInFlightBatches = 8;
        private WhenFull whenFull = WhenFull.BLOCK;
        private Duration blockTimeout = Duration.ofSeconds(10);
        private Duration requestTimeout = Duration.ofSeconds(10);
        private Consumer<Throwable> errorListener = t -> { };

        private Builder() {
        }

        public Builder address(String address) {
            WirebusClient.builder().address(address);
            this.address = address;
            return this;
        }

        /** Prefix of the workers' client names. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Workers, each with its own connection. */
        public Builder workers(int n) {
            this.workers = atLeast("workers", n, 1);
            return this;
        }

        /** Messages the queues hold at most, split evenly over the workers. */
        public Builder queueCapacity(int n) {
            this.queueCapacity = atLeast("queueCapacity", n, 1);
            return this;
        }

        /** Most messages per PUBLISH_BATCH frame. */
        public Builder maxBatchMessages(int n) {
            this.maxBatchMessages = atLeast("maxBatchMessages", n, 1);
            return this;
        }

        /** Most payload bytes per PUBLISH_BATCH frame (a single larger message still goes alone). */
        public Builder maxBatchBytes(int n) {
            this.maxBatchBytes = atLeast("maxBatchBytes", n, 1);
            return this;
        }

        /** Batches each worker keeps awaiting acknowledgement at once. */
        public Builder maxInFlightBatches(int n) {
            this.maxInFlightBatches = atLeast("maxInFlightBatches", n, 1);
            return this;
        }

        public Builder whenFull(WhenFull policy) {
            this.whenFull = Objects.requireNonNull(policy, "whenFull");
            return this;
        }

        /** How long {@link WhenFull#BLOCK} waits for room. */
        public Builder blockTimeout(Duration timeout) {
            this.blockTimeout = positive("blockTimeout", timeout);
            return this;
        }

        /** Deadline of each batch's acknowledgement. */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive("requestTimeout", timeout);
            return this;
        }

        /** Hears of failed fire-and-forget messages. Runs on I/O threads: return quickly. */
        public Builder errorListener(Consumer<Throwable> listener) {
            this.errorListener = Objects.requireNonNull(listener, "errorListener");
            return this;
        }

        /** Connects the workers. @throws ConnectionException when a worker cannot connect */
        public BatchingPublisher build() {
            return new BatchingPublisher(this);
        }

        private static int atLeast(String name, int n, int min) {
            if (n < min) {
                throw new IllegalArgumentException(name + " must be at least " + min + ", was " + n);
            }
            return n;
        }

        private static Duration positive(String name, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, was " + d);
            }
            return d;
        }
    }
}
