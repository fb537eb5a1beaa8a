package dev.wirebus.server.internal.storage;

import dev.wirebus.server.internal.Durability;
import dev.wirebus.server.internal.InMemoryLogs;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link Durability#of}: which appends wait for an fsync before they count as stored. */
class DurabilityPolicyTest {
    @Test
    void withoutACommitterOrADurableLogRecordsCountAsStoredAtOnce() {
        try (GroupCommitter committer = new GroupCommitter("t", Duration.ZERO, 1 << 20, 100)) {
            assertThat(Durability.of(new FakeDurableLog(), null)).isSameAs(Durability.IMMEDIATE);
            assertThat(Durability.of(InMemoryLogs.create(0, 0), committer)).isSameAs(Durability.IMMEDIATE);
            assertThat(Durability.IMMEDIATE.awaitStored(1, f -> { })).isFalse();
        }
    }

    @Test
    void aDurableLogWaitsForTheSyncThatCoversTheRecords() throws Exception {
        FakeDurableLog log = new FakeDurableLog();
        try (GroupCommitter committer = new GroupCommitter("t", Duration.ZERO, 1 << 20, 100)) {
            long last = log.write(3, 30);
            CompletableFuture<Long> stored = new CompletableFuture<>();
            boolean waits = Durability.of(log, committer).awaitStored(last, failure -> {
                if (failure == null) {
                    stored.complete(log.durableSequence());
                } else {
                    stored.completeExceptionally(failure);
                }
            });
            assertThat(waits).isTrue();
            assertThat(stored.get(10, TimeUnit.SECONDS)).as("durable when told").isGreaterThanOrEqualTo(last);
        }
    }

    @Test
    void aCommitterThatTakesNoMoreWaitersHasTheCallerSyncInstead() {
        FakeDurableLog log = new FakeDurableLog();
        GroupCommitter committer = new GroupCommitter("t", Duration.ZERO, 1 << 20, 1);
        committer.close(); // refuses every waiter, as a saturated one does
        long last = log.write(1, 10);
        boolean waits = Durability.of(log, committer).awaitStored(last, failure -> { });
        assertThat(waits).isFalse();
        assertThat(log.durableSequence()).isEqualTo(last);
        assertThat(log.syncCount()).isEqualTo(1);
    }
}
