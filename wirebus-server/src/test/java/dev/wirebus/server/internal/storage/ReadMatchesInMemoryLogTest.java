package dev.wirebus.server.internal.storage;

import dev.wirebus.server.internal.InMemoryLogs;
import dev.wirebus.server.internal.StreamLog;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.wirebus.server.internal.storage.StorageFixtures.batch;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Differential test: for the same appends, every read of the disk log returns the same slices
 * (sequences, record ranges, payloads) as the in-memory log, from every sequence and for a range
 * of record and byte limits: first, last, inside a batch, at a segment boundary.
 */
@Tag("slow")
class ReadMatchesInMemoryLogTest {
    @TempDir
    Path dir;

    /** A slice as comparable text: first sequence, record range, payloads. */
    private static List<String> describe(List<StreamLog.Slice> slices) {
        List<String> out = new ArrayList<>();
        for (StreamLog.Slice s : slices) {
            StringBuilder b = new StringBuilder().append(s.firstSequence()).append(" [").append(s.from()).append(',')
                    .append(s.to()).append(") ").append(s.bytes()).append("B:");
            for (int i = s.from(); i < s.to(); i++) {
                b.append(' ').append(new String(s.batch().payload(i), StandardCharsets.UTF_8));
            }
            out.add(b.toString());
        }
        return out;
    }

    /**
     * @param cacheBytes 0 reads everything from the files; a small cache mixes cache and files
     */
    @ParameterizedTest(name = "tail cache {0} bytes")
    @ValueSource(ints = {0, 300, 1 << 20})
    void everyReadReturnsTheSameSlicesAsTheInMemoryLog(int cacheBytes) {
        StoreConfig config = StoreConfig.defaults(dir.resolve("s")).withSegmentBytes(600).withIndexIntervalBytes(100)
                .withTailCacheBytes(cacheBytes);
        StreamLog reference = InMemoryLogs.create(Long.MAX_VALUE, Long.MAX_VALUE);
        Random random = new Random(42);
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 60; i++) {
                int size = 1 + random.nextInt(i % 10 == 0 ? 25 : 6);
                long first = reference.nextSequence();
                assertThat(log.append(batch(first, size))).isEqualTo(reference.append(batch(first, size)));
            }
            compareAll(log, reference);
        }
        // after a reopen every read comes from the files
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            compareAll(log, reference);
        }
    }

    private static void compareAll(SegmentedFileLog log, StreamLog reference) {
        assertThat(log.nextSequence()).isEqualTo(reference.nextSequence());
        int[] maxRecords = {0, 1, 2, 3, 7, 40, 1000};
        int[] maxBytes = {0, 1, 9, 30, 100, 1 << 20};
        for (long from = 1; from < reference.nextSequence(); from++) {
            for (int records : maxRecords) {
                for (int bytes : maxBytes) {
                    List<StreamLog.Slice> expected = new ArrayList<>();
                    List<StreamLog.Slice> actual = new ArrayList<>();
                    int expectedCount = reference.read(from, records, bytes, expected);
                    int actualCount = log.read(from, records, bytes, actual);
                    assertThat(describe(actual)).as("from %d, %d records, %d bytes", from, records, bytes)
                            .isEqualTo(describe(expected));
                    assertThat(actualCount).isEqualTo(expectedCount);
                }
            }
        }
    }
}
