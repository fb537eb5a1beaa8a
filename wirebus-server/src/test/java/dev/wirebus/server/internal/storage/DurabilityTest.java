package dev.wirebus.server.internal.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static dev.wirebus.server.internal.storage.StorageFixtures.appendBatches;
import static dev.wirebus.server.internal.storage.StorageFixtures.batch;
import static dev.wirebus.server.internal.storage.StorageFixtures.payloads;
import static dev.wirebus.server.internal.storage.StorageFixtures.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DurabilityTest {
    @TempDir
    Path dir;

    private StoreConfig config() {
        return StoreConfig.defaults(dir.resolve("s")).withSegmentBytes(2048);
    }

    @Test
    void syncAdvancesTheDurableSequenceToWhatWasWrittenAndSkipsTheDiskWhenNothingIsNew() {
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            long afterOpen = log.syncCount();
            appendBatches(log, 3, 4);
            assertThat(log.writtenSequence()).isEqualTo(7);
            assertThat(log.durableSequence()).isZero();
            assertThat(log.unsyncedBytes()).isPositive();
            log.sync();
            assertThat(log.durableSequence()).isEqualTo(7);
            assertThat(log.unsyncedBytes()).isZero();
            assertThat(log.syncCount()).isEqualTo(afterOpen + 1);
            log.sync();
            assertThat(log.syncCount()).as("nothing new: no fsync").isEqualTo(afterOpen + 1);
            appendBatches(log, 1);
            assertThat(log.durableSequence()).isEqualTo(7);
            log.sync();
            assertThat(log.durableSequence()).isEqualTo(8);
        }
    }

    @Test
    void syncCoversSegmentsRolledSinceTheLastOne() {
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            for (int i = 0; i < 60; i++) {
                appendBatches(log, 2);
            }
            log.sync();
            assertThat(log.durableSequence()).isEqualTo(120);
        }
    }

    @Test
    void aReopenedLogIsDurableUpToWhatItRecovered() {
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            appendBatches(log, 5);
        }
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            assertThat(log.durableSequence()).isEqualTo(5);
        }
    }

    @Test
    void syncFromAnotherThreadWhileAppendsContinueNeverClaimsMoreThanWasWritten() throws Exception {
        ExecutorService flusher = Executors.newSingleThreadExecutor();
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            AtomicBoolean appending = new AtomicBoolean(true);
            Future<Integer> syncs = flusher.submit(() -> {
                int n = 0;
                long last = 0;
                while (appending.get()) {
                    long before = log.writtenSequence();
                    log.sync();
                    long durable = log.durableSequence();
                    assertThat(durable).isGreaterThanOrEqualTo(Math.max(before, last));
                    last = durable;
                    n++;
                }
                return n;
            });
            for (int i = 0; i < 400; i++) {
                appendBatches(log, 1 + i % 3);
                assertThat(log.durableSequence()).isLessThanOrEqualTo(log.writtenSequence());
            }
            appending.set(false);
            assertThat(syncs.get(30, TimeUnit.SECONDS)).isPositive();
            log.sync();
            next = log.nextSequence();
            assertThat(log.durableSequence()).isEqualTo(next - 1);
        } finally {
            flusher.shutdown();
            assertThat(flusher.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            assertThat(readAll(log, 1, 50, 1 << 20)).isEqualTo(payloads(1, next));
        }
    }

    @Test
    void concurrentWaitersOnTheAlwaysPolicyShareOneFsync() throws Exception {
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (SegmentedFileLog log = SegmentedFileLog.open(config())) {
            CoalescingSync always = new CoalescingSync(log);
            CyclicBarrier appended = new CyclicBarrier(threads);
            Object streamLock = new Object();
            long before = log.syncCount();
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    long seq;
                    synchronized (streamLock) {
                        seq = log.append(batch(log.nextSequence(), 1));
                    }
                    appended.await(10, TimeUnit.SECONDS);
                    boolean durable = always.awaitDurable(seq, 10, TimeUnit.SECONDS);
                    return durable && log.durableSequence() >= seq;
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get(30, TimeUnit.SECONDS)).isTrue();
            }
            // every append happened before any wait: the first leader's sync covers them all
            assertThat(log.syncCount() - before).isEqualTo(1);
        } finally {
            pool.shutdown();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void callersArrivingDuringASyncWaitForItAndThenShareOneMore() throws Exception {
        int followers = 6;
        FakeDurableLog log = new FakeDurableLog();
        CoalescingSync always = new CoalescingSync(log);
        ExecutorService pool = Executors.newFixedThreadPool(followers + 1);
        try {
            long first = log.write(1, 10);
            log.closeGate();
            Future<Boolean> leader = pool.submit(() -> always.awaitDurable(first, 10, TimeUnit.SECONDS));
            assertThat(log.awaitSyncsEntered(1, 10, TimeUnit.SECONDS)).isTrue();
            List<Future<Boolean>> rest = new ArrayList<>();
            for (int i = 0; i < followers; i++) {
                long seq = log.write(1, 10); // written after the leader's sync started: not covered by it
                rest.add(pool.submit(() -> always.awaitDurable(seq, 10, TimeUnit.SECONDS)));
            }
            log.openGate();
            assertThat(leader.get(10, TimeUnit.SECONDS)).isTrue();
            for (Future<Boolean> f : rest) {
                assertThat(f.get(10, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(log.syncCount()).as("one leader sync, then one for all who waited").isEqualTo(2);
        } finally {
            pool.shutdown();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aWaiterGivesUpAtItsTimeoutWhileAnotherCallersSyncHangs() throws Exception {
        FakeDurableLog log = new FakeDurableLog();
        CoalescingSync always = new CoalescingSync(log);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            long seq = log.write(1, 10);
            log.closeGate();
            Future<Boolean> leader = pool.submit(() -> always.awaitDurable(seq, 10, TimeUnit.SECONDS));
            assertThat(log.awaitSyncsEntered(1, 10, TimeUnit.SECONDS)).isTrue();
            assertThat(always.awaitDurable(seq, 20, TimeUnit.MILLISECONDS)).isFalse();
            log.openGate();
            assertThat(leader.get(10, TimeUnit.SECONDS)).isTrue();
            assertThat(always.awaitDurable(seq, 0, TimeUnit.MILLISECONDS)).isTrue();
        } finally {
            pool.shutdown();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void aFailedSyncReachesEveryWaiter() {
        FakeDurableLog log = new FakeDurableLog();
        CoalescingSync always = new CoalescingSync(log);
        long seq = log.write(1, 10);
        log.failSyncsWith(new StorageException("disk on fire"));
        assertThatThrownBy(() -> always.awaitDurable(seq, 1, TimeUnit.SECONDS)).hasMessage("disk on fire");
        assertThatThrownBy(() -> always.awaitDurable(seq + 1, 1, TimeUnit.SECONDS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not written yet");
    }
}
