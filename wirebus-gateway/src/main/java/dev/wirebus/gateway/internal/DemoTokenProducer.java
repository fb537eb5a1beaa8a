package dev.wirebus.gateway.internal;

import dev.wirebus.client.WirebusClient;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Publishes a stream of "tokens" the way a language model streams its answer: the words of a
 * built-in text, each followed by a space, one every interval. Each publish waits for the previous
 * one's ack, so chunk n is at sequence first + n - 1. At most {@link #MAX_RUNNING} run at once.
 */
public final class DemoTokenProducer {
    /** Most demo streams producing at once. */
    public static final int MAX_RUNNING = 16;
    /** Most chunks one demo stream publishes. */
    public static final int MAX_COUNT = 100_000;

    private static final String[] WORDS = ("A subscriber is a cursor over the stream's log, so history and live "
            + "messages take the same path. When the connection drops, the page reconnects and subscribes again "
            + "from the sequence after the last one it saw: nothing is lost and nothing arrives twice. Every chunk "
            + "you see here was appended to a stream, acknowledged with its sequence, and delivered in order, "
            + "once, however often the connection was cut.").split(" ");

    private final WirebusClient client;
    private final ScheduledExecutorService scheduler;
    private final AtomicInteger running = new AtomicInteger();

    public DemoTokenProducer(WirebusClient client, ScheduledExecutorService scheduler) {
        this.client = client;
        this.scheduler = scheduler;
    }

    /** The payload of chunk {@code n} (from 1). */
    public static byte[] chunk(int n) {
        return (WORDS[(n - 1) % WORDS.length] + " ").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Starts publishing {@code count} chunks to {@code stream}; completes with the first chunk's
     * sequence once it is acknowledged, or null when {@link #MAX_RUNNING} producers already run.
     */
    public CompletableFuture<Long> start(String stream, int count, long intervalMillis) {
        if (running.incrementAndGet() > MAX_RUNNING) {
            running.decrementAndGet();
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Long> first = new CompletableFuture<>();
        publish(stream, 1, count, intervalMillis, first);
        return first;
    }

    private void publish(String stream, int n, int count, long intervalMillis, CompletableFuture<Long> first) {
        client.publish(stream, chunk(n)).whenComplete((seq, failure) -> {
            if (failure != null) {
                running.decrementAndGet();
                first.completeExceptionally(failure);
                return;
            }
            first.complete(seq.firstSequence());
            if (n >= count) {
                running.decrementAndGet();
                return;
            }
            scheduler.schedule(() -> publish(stream, n + 1, count, intervalMillis, first), intervalMillis,
                    TimeUnit.MILLISECONDS);
        });
    }
}
