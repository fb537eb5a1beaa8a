package dev.wirebus.server.internal.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;

import static dev.wirebus.server.internal.storage.StorageFixtures.appendBatches;
import static dev.wirebus.server.internal.storage.StorageFixtures.payloads;
import static dev.wirebus.server.internal.storage.StorageFixtures.readAll;
import static org.assertj.core.api.Assertions.assertThat;

class RetentionTest {
    @TempDir
    Path dir;

    /** A clock the test moves by hand. */
    private static final class ManualClock extends Clock {
        private long millis = 1_700_000_000_000L;

        void advance(long ms) {
            millis += ms;
        }

        @Override
        public long millis() {
            return millis;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    private StoreConfig config() {
        return StoreConfig.defaults(dir.resolve("s")).withSegmentBytes(400).withIndexIntervalBytes(64);
    }

    private List<Long> segmentBases() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("s"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".log"))
                    .map(n -> Long.parseLong(n.substring(0, 20))).sorted().toList();
        }
    }

    @Test
    void retentionByCountDeletesWholeOldSegmentsUntilAtMostTheLimitRemains() throws IOException {
        try (SegmentedFileLog log = SegmentedFileLog.open(config().withRetention(20, Long.MAX_VALUE, Long.MAX_VALUE))) {
            for (int i = 0; i < 50; i++) {
                appendBatches(log, 2);
                long retained = log.nextSequence() - log.firstSequence();
                List<Long> bases = segmentBases();
                // the first retained sequence is always a segment's base: whole segments go
                assertThat(bases.get(0)).isEqualTo(log.firstSequence());
                // beyond the limit only while the active segment alone holds more
                assertThat(retained <= 20 || bases.size() == 1).as("retained %d in %s", retained, bases).isTrue();
            }
            assertThat(log.firstSequence()).isGreaterThan(1);
            assertThat(readAll(log, log.firstSequence(), 7, 100)).isEqualTo(payloads(log.firstSequence(),
                    log.nextSequence()));
        }
    }

    @Test
    void retentionByBytesCountsTheSegmentFiles() throws IOException {
        try (SegmentedFileLog log = SegmentedFileLog.open(config().withRetention(Long.MAX_VALUE, 1000, Long.MAX_VALUE))) {
            for (int i = 0; i < 60; i++) {
                appendBatches(log, 2);
                long bytes = 0;
                try (Stream<Path> files = Files.list(dir.resolve("s"))) {
                    for (Path p : files.filter(p -> p.toString().endsWith(".log")).toList()) {
                        bytes += Files.size(p);
                    }
                }
                assertThat(bytes).isLessThanOrEqualTo(1000);
            }
            assertThat(segmentBases().size()).isGreaterThan(1);
            assertThat(segmentBases().get(0)).isEqualTo(log.firstSequence()).isGreaterThan(1);
        }
    }

    @Test
    void retentionByAgeDeletesSegmentsWhoseNewestEntryIsOlderAndRollsAQuietActiveSegment() throws IOException {
        ManualClock clock = new ManualClock();
        StoreConfig config = config().withRetention(Long.MAX_VALUE, Long.MAX_VALUE, 60_000);
        try (SegmentedFileLog log = SegmentedFileLog.open(config, clock)) {
            for (int i = 0; i < 12; i++) {
                appendBatches(log, 2);
            }
            List<Long> old = segmentBases();
            assertThat(old).hasSizeGreaterThan(2);
            clock.advance(30_000);
            long recentFirst = log.nextSequence();
            appendBatches(log, 1);
            // the active segment's first entry is 30 s old: nothing is old enough yet
            log.enforceRetention();
            assertThat(log.firstSequence()).isEqualTo(1);
            clock.advance(30_001);
            log.enforceRetention();
            // all segments whose newest entry is more than 60 s old are gone; the active one stays
            assertThat(segmentBases()).containsExactly(old.get(old.size() - 1));
            assertThat(log.firstSequence()).isEqualTo(old.get(old.size() - 1));
            // the next append rolls the active segment, whose oldest entry has aged out
            clock.advance(30_000);
            long next = appendBatches(log, 1);
            clock.advance(30_001);
            log.enforceRetention();
            assertThat(log.firstSequence()).isEqualTo(next - 1);
            assertThat(recentFirst).isLessThan(next - 1);
            assertThat(readAll(log, log.firstSequence(), 10, 100)).isEqualTo(payloads(next - 1, next));
        }
    }

    @Test
    void retentionNeverDeletesTheActiveSegmentAndSurvivesAReopen() throws IOException {
        StoreConfig config = config().withSegmentBytes(100_000).withRetention(1, 1, Long.MAX_VALUE);
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            next = appendBatches(log, 5, 5, 5);
            assertThat(log.firstSequence()).isEqualTo(1);
            assertThat(segmentBases()).containsExactly(1L);
        }
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            assertThat(log.firstSequence()).isEqualTo(1);
            assertThat(log.nextSequence()).isEqualTo(next);
        }
    }

    @Test
    void aReopenedLogStartsWhereRetentionLeftIt() throws IOException {
        StoreConfig config = config().withRetention(20, Long.MAX_VALUE, Long.MAX_VALUE);
        long first;
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 50; i++) {
                appendBatches(log, 2);
            }
            first = log.firstSequence();
            next = log.nextSequence();
        }
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            assertThat(log.firstSequence()).isEqualTo(first);
            assertThat(readAll(log, first, 100, 1 << 20)).isEqualTo(payloads(first, next));
        }
    }
}
