package dev.wirebus.server.internal.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.wirebus.server.internal.storage.StorageFixtures.batch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GroupCommitterTest {
    private static final Duration AN_HOUR = Duration.ofHours(1);

    @TempDir
    Path dir;

    /** What a callback saw: the sequence it waited for, the log's durable sequence then, and the failure. */
    private record Seen(long sequence, long durable, Throwable failure) {
    }

    /** Registers and returns a future completed by the callback with what it saw. */
    private static CompletableFuture<Seen> await(GroupCommitter committer, DurableStreamLog log, long seq) {
        CompletableFuture<Seen> f = new CompletableFuture<>();
        assertThat(committer.register(log, seq, failure -> f.complete(new Seen(seq, log.durableSequence(), failure))))
                .as("registered %d", seq).isTrue();
        return f;
    }

    @Test
    void waitersOfManyLogsCompleteOnlyAfterASyncCoversThemAndInSequenceOrder() throws Exception {
        int threads = 4;
        int perThread = 150;
        SegmentedFileLog[] logs = new SegmentedFileLog[2];
        List<ConcurrentLinkedQueue<Seen>> seen = List.of(new ConcurrentLinkedQueue<>(), new ConcurrentLinkedQueue<>());
        CountDownLatch all = new CountDownLatch(threads * perThread);
        ExecutorService producers = Executors.newFixedThreadPool(threads);
        try (GroupCommitter committer = new GroupCommitter("test-group-commit", Duration.ofMillis(5), 1 << 20, 10_000)) {
            for (int i = 0; i < logs.length; i++) {
                logs[i] = SegmentedFileLog.open(StoreConfig.defaults(dir.resolve("s" + i)).withSegmentBytes(4096));
            }
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(producers.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        int which = (thread + i) % logs.length;
                        SegmentedFileLog log = logs[which];
                        synchronized (log) { // the stream's lock: append, then register under it
                            long seq = log.append(batch(log.nextSequence(), 1 + i % 3));
                            boolean registered = committer.register(log, seq, failure -> {
                                seen.get(which).add(new Seen(seq, log.durableSequence(), failure));
                                all.countDown();
                            });
                            assertThat(registered).isTrue();
                        }
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
            assertThat(all.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(committer.waiting()).isZero();
            for (int i = 0; i < logs.length; i++) {
                List<Seen> s = new ArrayList<>(seen.get(i));
                assertThat(s).allSatisfy(x -> {
                    assertThat(x.failure()).isNull();
                    assertThat(x.durable()).isGreaterThanOrEqualTo(x.sequence());
                });
                List<Long> order = s.stream().map(Seen::sequence).toList();
                assertThat(order).isSorted().doesNotHaveDuplicates();
                assertThat(logs[i].syncCount()).as("fsyncs of log %d for %d waiters", i, s.size())
                        .isLessThan(s.size());
            }
        } finally {
            producers.shutdown();
            assertThat(producers.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            for (SegmentedFileLog log : logs) {
                if (log != null) {
                    log.close();
                }
            }
        }
    }

    @Test
    void waitersWaitForTheDelayUnlessTheirLogHasTheByteLimitUnsynced() throws Exception {
        FakeDurableLog log = new FakeDurableLog();
        try (GroupCommitter committer = new GroupCommitter("test", AN_HOUR, 1000, 100)) {
            CompletableFuture<Seen> small = await(committer, log, log.write(1, 10));
            assertThat(committer.waiting()).isEqualTo(1);
            // 2000 unsynced bytes: this registration starts the sync at once, long before the hour
            CompletableFuture<Seen> big = await(committer, log, log.write(1, 2000));
            assertThat(small.get(10, TimeUnit.SECONDS).failure()).isNull();
            assertThat(big.get(10, TimeUnit.SECONDS).durable()).isEqualTo(2);
            assertThat(log.syncCount()).isEqualTo(1);
        }
    }

    @Test
    void withoutDelayEverySyncStartsAtOnceAndWaitersArrivingDuringOneShareTheNext() throws Exception {
        FakeDurableLog log = new FakeDurableLog();
        try (GroupCommitter committer = new GroupCommitter("test", Duration.ZERO, Long.MAX_VALUE, 100)) {
            log.closeGate();
            CompletableFuture<Seen> first = await(committer, log, log.write(1, 10));
            assertThat(log.awaitSyncsEntered(1, 10, TimeUnit.SECONDS)).isTrue();
            List<CompletableFuture<Seen>> during = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                during.add(await(committer, log, log.write(1, 10)));
            }
            log.openGate();
            assertThat(first.get(10, TimeUnit.SECONDS).durable()).isGreaterThanOrEqualTo(1);
            long previous = 1;
            for (CompletableFuture<Seen> f : during) {
                Seen s = f.get(10, TimeUnit.SECONDS);
                assertThat(s.durable()).isGreaterThanOrEqualTo(s.sequence());
                assertThat(s.sequence()).isGreaterThan(previous);
                previous = s.sequence();
            }
            assertThat(log.syncCount()).isEqualTo(2);
        }
    }

    @Test
    void registrationsBeyondTheBoundAreRefusedAndCloseCompletesThoseWaiting() throws Exception {
        FakeDurableLog log = new FakeDurableLog();
        GroupCommitter committer = new GroupCommitter("test", AN_HOUR, Long.MAX_VALUE, 3);
        List<CompletableFuture<Seen>> waiting = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            waiting.add(await(committer, log, log.write(1, 10)));
        }
        assertThat(committer.register(log, log.write(1, 10), failure -> { })).isFalse();
        committer.close();
        for (CompletableFuture<Seen> f : waiting) {
            assertThat(f.getNow(null)).as("completed by close").isNotNull();
            assertThat(f.getNow(null).failure()).isNull();
            assertThat(f.getNow(null).durable()).isGreaterThanOrEqualTo(f.getNow(null).sequence());
        }
        assertThat(committer.register(log, log.writtenSequence(), failure -> { })).as("after close").isFalse();
    }

    @Test
    void aFailedSyncFailsTheWaitersOfThatLogOnly() throws Exception {
        FakeDurableLog failing = new FakeDurableLog();
        FakeDurableLog healthy = new FakeDurableLog();
        failing.failSyncsWith(new StorageException("fsync failed"));
        try (GroupCommitter committer = new GroupCommitter("test", Duration.ZERO, Long.MAX_VALUE, 100)) {
            CompletableFuture<Seen> bad = await(committer, failing, failing.write(1, 10));
            CompletableFuture<Seen> good = await(committer, healthy, healthy.write(1, 10));
            assertThat(bad.get(10, TimeUnit.SECONDS).failure()).hasMessage("fsync failed");
            assertThat(good.get(10, TimeUnit.SECONDS).failure()).isNull();
        }
    }

    @Test
    void aSequenceAlreadyDurableCompletesWithoutAnotherSync() throws Exception {
        FakeDurableLog log = new FakeDurableLog();
        long seq = log.write(3, 30);
        log.sync();
        try (GroupCommitter committer = new GroupCommitter("test", AN_HOUR, Long.MAX_VALUE, 100)) {
            assertThat(await(committer, log, seq - 1).get(10, TimeUnit.SECONDS).failure()).isNull();
            assertThat(log.syncCount()).isEqualTo(1);
        }
    }

    @Test
    void registeringASequenceNotYetWrittenIsRefused() {
        FakeDurableLog log = new FakeDurableLog();
        try (GroupCommitter committer = new GroupCommitter("test", AN_HOUR, Long.MAX_VALUE, 100)) {
            assertThatThrownBy(() -> committer.register(log, 1, failure -> { }))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
