package dev.wirebus.server.internal.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;

import static dev.wirebus.server.internal.storage.StorageFixtures.appendBatches;
import static dev.wirebus.server.internal.storage.StorageFixtures.payloads;
import static dev.wirebus.server.internal.storage.StorageFixtures.readAll;
import static org.assertj.core.api.Assertions.assertThat;

/** Logs sharing an open-file budget close each other's files and reopen their own at next use. */
class OpenFileBudgetTest {
    @TempDir
    Path dir;

    private SegmentedFileLog open(String name, OpenFileBudget budget) {
        return SegmentedFileLog.open(StoreConfig.defaults(dir.resolve(name)), Clock.systemUTC(),
                new LogOptions(budget, FileModes.NONE, null, false));
    }

    @Test
    void theLeastRecentlyUsedLogClosesItsFilesAndReopensThemAtNextUse() {
        OpenFileBudget budget = new OpenFileBudget(3); // one log's segment, index and visible mark
        try (SegmentedFileLog a = open("a", budget);
             SegmentedFileLog b = open("b", budget)) {
            assertThat(a.openFileCount()).as("a gave way when b opened").isZero();
            appendBatches(a, 3, 2);
            a.sync();
            assertThat(b.openFileCount()).as("b gave way when a was used").isZero();
            appendBatches(b, 4);
            b.sync();
            assertThat(a.openFileCount()).isZero();
            assertThat(budget.openFiles()).isLessThanOrEqualTo(3);
            assertThat(budget.closedByBudget()).isEqualTo(3);

            // a is used again: it reopens, reads what it had and appends after it; b gives way
            assertThat(readAll(a, 1, 100, 1 << 20)).isEqualTo(payloads(1, 6));
            appendBatches(a, 2);
            a.sync();
            assertThat(a.durableSequence()).isEqualTo(7);
            assertThat(readAll(a, 1, 100, 1 << 20)).isEqualTo(payloads(1, 8));
            assertThat(b.openFileCount()).isZero();
            assertThat(readAll(b, 1, 100, 1 << 20)).isEqualTo(payloads(1, 5));
        }
        assertThat(budget.openFiles()).isZero();
    }

    @Test
    void aSyncAfterTheFilesWereClosedMakesTheAppendsDurable() {
        OpenFileBudget budget = new OpenFileBudget(3);
        try (SegmentedFileLog a = open("a", budget);
             SegmentedFileLog b = open("b", budget)) {
            appendBatches(a, 5); // written, not synced; b gives way
            appendBatches(b, 1);
            b.sync();
            assertThat(a.openFileCount()).isZero();
            assertThat(a.durableSequence()).isZero();
            a.sync(); // the committer's thread: no reopen of the log, a descriptor just for the fsync
            assertThat(a.durableSequence()).isEqualTo(5);
            assertThat(SegmentedFileLog.readMark(dir.resolve("a").resolve(SegmentedFileLog.MARK_FILE))).isEqualTo(5);
        }
    }
}
