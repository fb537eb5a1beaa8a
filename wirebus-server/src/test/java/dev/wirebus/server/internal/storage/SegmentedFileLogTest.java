package dev.wirebus.server.internal.storage;

import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.server.internal.StreamLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.wirebus.server.internal.storage.StorageFixtures.appendBatches;
import static dev.wirebus.server.internal.storage.StorageFixtures.batch;
import static dev.wirebus.server.internal.storage.StorageFixtures.payloads;
import static dev.wirebus.server.internal.storage.StorageFixtures.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SegmentedFileLogTest {
    @TempDir
    Path dir;

    private StoreConfig smallSegments() {
        return StoreConfig.defaults(dir.resolve("stream")).withSegmentBytes(1024).withIndexIntervalBytes(128)
                .withTailCacheBytes(0);
    }

    private List<String> segmentFiles(Path streamDir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(streamDir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix)).sorted().toList();
        }
    }

    @Test
    void newStreamStartsAtSequenceOneInAnEmptySegmentNamedByIt() throws IOException {
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            assertThat(log.firstSequence()).isEqualTo(1);
            assertThat(log.nextSequence()).isEqualTo(1);
            assertThat(log.durableSequence()).isZero();
            assertThat(segmentFiles(dir.resolve("stream"), ".log")).containsExactly("00000000000000000001.log");
        }
    }

    @Test
    void recordsRoundTripAcrossManySegmentsAndAReopen() throws IOException {
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            for (int i = 0; i < 120; i++) {
                appendBatches(log, 1 + i % 9);
            }
            next = log.nextSequence();
            assertThat(readAll(log, 1, 1000, Integer.MAX_VALUE)).isEqualTo(payloads(1, next));
        }
        assertThat(segmentFiles(dir.resolve("stream"), ".log")).hasSizeGreaterThan(10);
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            assertThat(log.firstSequence()).isEqualTo(1);
            assertThat(log.nextSequence()).isEqualTo(next);
            assertThat(log.durableSequence()).isEqualTo(next - 1);
            assertThat(readAll(log, 1, 7, 300)).isEqualTo(payloads(1, next));
            long more = appendBatches(log, 5, 1, 30);
            assertThat(readAll(log, next - 3, 1000, Integer.MAX_VALUE)).isEqualTo(payloads(next - 3, more));
        }
    }

    @Test
    void segmentsRollBeforeAnAppendWouldPassTheSizeAndANamedBaseSequenceStartsEach() throws IOException {
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            for (int i = 0; i < 40; i++) {
                appendBatches(log, 3);
            }
        }
        Path streamDir = dir.resolve("stream");
        List<String> logs = segmentFiles(streamDir, ".log");
        for (String name : logs) {
            long size = Files.size(streamDir.resolve(name));
            assertThat(size).as(name).isLessThanOrEqualTo(1024);
        }
        // every base sequence named is the one after the previous segment's last: 3 records per entry
        for (String name : logs) {
            assertThat((Long.parseLong(name.substring(0, 20)) - 1) % 3).as(name).isZero();
        }
        assertThat(segmentFiles(streamDir, ".idx")).hasSameSizeAs(logs);
    }

    @Test
    void anEntryLargerThanASegmentGetsASegmentOfItsOwn() {
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            appendBatches(log, 2);
            List<byte[]> big = List.of(new byte[3000]);
            long seq = log.append(RecordBatch.of(big));
            appendBatches(log, 2);
            List<StreamLog.Slice> out = new ArrayList<>();
            assertThat(log.read(seq, 1, 1, out)).isEqualTo(1);
            assertThat(out.get(0).batch().payloadLength(0)).isEqualTo(3000);
            assertThat(readAll(log, seq + 1, 10, 100)).isEqualTo(payloads(seq + 1, seq + 3));
        }
    }

    @Test
    void anEmptyBatchIsANoOpAtTheNextSequence() {
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            appendBatches(log, 2);
            assertThat(log.append(RecordBatch.empty())).isEqualTo(3);
            assertThat(log.nextSequence()).isEqualTo(3);
            assertThat(log.writtenSequence()).isEqualTo(2);
        }
    }

    @Test
    void readingOutsideTheRetainedRangeIsRefused() {
        try (SegmentedFileLog log = SegmentedFileLog.open(smallSegments())) {
            appendBatches(log, 2);
            assertThatThrownBy(() -> log.read(3, 1, 1, new ArrayList<>())).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.read(0, 1, 1, new ArrayList<>())).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void tailReadersAreServedFromTheCacheAndOlderReadsFromTheFile() throws IOException {
        StoreConfig config = smallSegments().withTailCacheBytes(200);
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            appendBatches(log, 10, 10, 10, 10, 3);
            long next = log.nextSequence();
            List<StreamLog.Slice> tail = new ArrayList<>();
            log.read(next - 1, 1, 1, tail);
            // the cache hands out the very batch that was appended; a file read decodes a new one
            List<StreamLog.Slice> again = new ArrayList<>();
            log.read(next - 1, 1, 1, again);
            assertThat(again.get(0).batch()).isSameAs(tail.get(0).batch());
            // the oldest records are no longer cached: they come from the file, and are still right
            assertThat(readAll(log, 1, 4, 60)).isEqualTo(payloads(1, next));
        }
    }

    @Test
    void closedLogRefusesWorkAndCloseIsIdempotent() {
        SegmentedFileLog log = SegmentedFileLog.open(smallSegments());
        appendBatches(log, 1);
        log.close();
        log.close();
        assertThatThrownBy(() -> log.append(batch(2, 1))).isInstanceOf(StorageException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(log::sync).isInstanceOf(StorageException.class).hasMessageContaining("closed");
    }

    @Test
    void configRefusesNonsense() {
        Path d = dir.resolve("x");
        assertThatThrownBy(() -> StoreConfig.defaults(d).withSegmentBytes(10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("segmentBytes");
        assertThatThrownBy(() -> StoreConfig.defaults(d).withIndexIntervalBytes(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("indexIntervalBytes");
        assertThatThrownBy(() -> StoreConfig.defaults(d).withRetention(0, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retentionMessages");
        assertThatThrownBy(() -> StoreConfig.defaults(d).withRetention(1, 1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retentionAgeMillis");
        assertThatThrownBy(() -> StoreConfig.defaults(d).withTailCacheBytes(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tailCacheBytes");
        assertThatThrownBy(() -> StoreConfig.defaults(null)).isInstanceOf(NullPointerException.class);
    }
}
