package dev.wirebus.server.internal.storage;

import dev.wirebus.server.internal.StreamLog;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static dev.wirebus.server.internal.storage.StorageFixtures.appendBatches;
import static dev.wirebus.server.internal.storage.StorageFixtures.batch;
import static dev.wirebus.server.internal.storage.StorageFixtures.payloads;
import static dev.wirebus.server.internal.storage.StorageFixtures.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecoveryTest {
    private static final String FIRST_SEGMENT = "00000000000000000001.log";

    @TempDir
    Path dir;

    private StoreConfig config(Path streamDir) {
        return StoreConfig.defaults(streamDir).withIndexIntervalBytes(64).withTailCacheBytes(0);
    }

    /** Appends batches of the given sizes to a new log in {@code streamDir}; returns each entry's file offset and the file size. */
    private long[] writeEntries(Path streamDir, int... sizes) {
        long[] offsets = new long[sizes.length + 1];
        try (SegmentedFileLog log = SegmentedFileLog.open(config(streamDir))) {
            long seq = 1;
            for (int i = 0; i < sizes.length; i++) {
                log.append(batch(seq, sizes[i]));
                offsets[i + 1] = offsets[i] + EntryFormat.HEADER_BYTES + batch(seq, sizes[i]).sizeInBytes();
                seq += sizes[i];
            }
            log.sync();
        }
        return offsets;
    }

    private static void copyDir(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            int b = raf.read();
            raf.seek(offset);
            raf.write(b ^ 0x40);
        }
    }

    @Tag("slow")
    @Test
    void aTornTailIsCutToTheLastGoodEntryWhereverTheCutFallsAndOneWarningSaysSo() throws IOException {
        int[] sizes = {3, 1, 4, 2, 5};
        Path original = dir.resolve("original");
        long[] offsets = writeEntries(original, sizes);
        long fileSize = offsets[sizes.length];
        assertThat(Files.size(original.resolve(FIRST_SEGMENT))).isEqualTo(fileSize);

        // cut anywhere inside the last two entries: inside a header, at its end, inside a payload
        for (long keep = offsets[sizes.length - 2]; keep < fileSize; keep++) {
            int goodEntries = keep >= offsets[sizes.length - 1] ? sizes.length - 1 : sizes.length - 2;
            long goodEnd = offsets[goodEntries];
            long lastGood = 0;
            for (int i = 0; i < goodEntries; i++) {
                lastGood += sizes[i];
            }
            Path copy = dir.resolve("cut-" + keep);
            copyDir(original, copy);
            truncate(copy.resolve(FIRST_SEGMENT), keep);
            try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
                 SegmentedFileLog log = SegmentedFileLog.open(config(copy))) {
                if (keep == goodEnd) {
                    assertThat(captured.warnings()).as("cut at an entry boundary").isEmpty();
                } else {
                    assertThat(captured.warnings()).as("cut at %d", keep).singleElement().asString()
                            .contains(copy.resolve(FIRST_SEGMENT).toString(), "at offset " + goodEnd,
                                    "dropped " + (keep - goodEnd) + " bytes", "last good sequence " + lastGood)
                            .containsAnyOf("torn header", "torn payload");
                }
                assertThat(log.nextSequence()).isEqualTo(lastGood + 1);
                assertThat(Files.size(copy.resolve(FIRST_SEGMENT))).isEqualTo(goodEnd);
                assertThat(readAll(log, 1, 100, 1 << 20)).isEqualTo(payloads(1, lastGood + 1));
                appendBatches(log, 2);
            }
            try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
                 SegmentedFileLog log = SegmentedFileLog.open(config(copy))) {
                assertThat(captured.warnings()).as("second open after the cut").isEmpty();
                assertThat(readAll(log, 1, 100, 1 << 20)).isEqualTo(payloads(1, lastGood + 3));
            }
        }
    }

    @Test
    void aFlippedByteInAnEarlierEntryOfTheNewestSegmentCutsFromThatEntryAndIsNeverServed() throws IOException {
        int[] sizes = {2, 3, 2, 4, 1, 3};
        Path streamDir = dir.resolve("s");
        long[] offsets = writeEntries(streamDir, sizes);
        // a byte inside the first record of the third entry (sequences 6 and 7)
        flipByte(streamDir.resolve(FIRST_SEGMENT), offsets[2] + EntryFormat.HEADER_BYTES + 12);
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config(streamDir))) {
            assertThat(captured.warnings()).singleElement().asString()
                    .contains(FIRST_SEGMENT, "at offset " + offsets[2], "CRC32C mismatch",
                            "dropped " + (offsets[sizes.length] - offsets[2]) + " bytes", "last good sequence 5");
            assertThat(log.nextSequence()).isEqualTo(6);
            assertThat(readAll(log, 1, 100, 1 << 20)).isEqualTo(payloads(1, 6));
        }
    }

    @Test
    void aFlippedHeaderByteOrAWrongSequenceIsCaughtToo() throws IOException {
        int[] sizes = {2, 2, 2};
        Path magic = dir.resolve("magic");
        long[] offsets = writeEntries(magic, sizes);
        flipByte(magic.resolve(FIRST_SEGMENT), offsets[1]);
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config(magic))) {
            assertThat(captured.warnings()).singleElement().asString().contains("bad magic", "at offset " + offsets[1]);
            assertThat(log.nextSequence()).isEqualTo(3);
        }
        Path sequence = dir.resolve("sequence");
        writeEntries(sequence, sizes);
        flipByte(sequence.resolve(FIRST_SEGMENT), offsets[2] + 15); // low byte of the base sequence
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config(sequence))) {
            assertThat(captured.warnings()).singleElement().asString()
                    .contains("base sequence", "where 5 was expected", "at offset " + offsets[2]);
            assertThat(log.nextSequence()).isEqualTo(5);
        }
    }

    @Test
    void corruptionInAnOlderSegmentIsReportedByTheReadNotServed() throws IOException {
        Path streamDir = dir.resolve("s");
        StoreConfig config = config(streamDir).withSegmentBytes(400);
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 30; i++) {
                appendBatches(log, 2);
            }
            next = log.nextSequence();
        }
        // the first entry of the first segment: before its last index entry, so recovery does not look at it
        flipByte(streamDir.resolve(FIRST_SEGMENT), EntryFormat.HEADER_BYTES + 6);
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            assertThat(log.nextSequence()).isEqualTo(next);
            assertThatThrownBy(() -> log.read(1, 10, 1000, new ArrayList<>())).isInstanceOf(StorageException.class)
                    .hasMessageContaining(FIRST_SEGMENT).hasMessageContaining("CRC32C mismatch");
            assertThat(readAll(log, 3, 10, 1000)).isEqualTo(payloads(3, next));
        }
    }

    @Test
    void aTornTailInAnOlderSegmentCutsItAndMovesTheSegmentsAfterItToQuarantine() throws IOException {
        Path streamDir = dir.resolve("s");
        StoreConfig config = config(streamDir).withSegmentBytes(400);
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 30; i++) {
                appendBatches(log, 2);
            }
        }
        List<Path> segments;
        try (Stream<Path> files = Files.list(streamDir)) {
            segments = files.filter(p -> p.toString().endsWith(".log")).sorted(Comparator.naturalOrder()).toList();
        }
        assertThat(segments).hasSizeGreaterThan(3);
        Path second = segments.get(1);
        truncate(second, Files.size(second) - 5);
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config)) {
            List<String> warnings = captured.warnings();
            assertThat(warnings).hasSize(1 + segments.size() - 2);
            assertThat(warnings.get(0)).contains(second.getFileName().toString(), "torn payload");
            assertThat(warnings.get(1)).contains("Dropped", segments.get(2).getFileName().toString(), "quarantine");
            for (Path later : segments.subList(2, segments.size())) {
                assertThat(later).doesNotExist();
            }
            // nothing is deleted: the torn bytes and every dropped segment are kept in quarantine/
            try (Stream<Path> kept = Files.list(streamDir.resolve("quarantine"))) {
                assertThat(kept.count()).isEqualTo(1 + segments.size() - 2);
            }
            assertThat(log.recovery().quarantined()).hasSize(1 + segments.size() - 2);
            long secondBase = Long.parseLong(second.getFileName().toString().substring(0, 20));
            assertThat(log.nextSequence()).isGreaterThan(secondBase);
            assertThat(readAll(log, 1, 100, 1 << 20)).isEqualTo(payloads(1, log.nextSequence()));
            long next = appendBatches(log, 3);
            assertThat(readAll(log, 1, 100, 1 << 20)).isEqualTo(payloads(1, next));
        }
    }

    @Test
    void aZeroLengthNewestSegmentIsAValidEmptyTail() throws IOException {
        Path streamDir = dir.resolve("s");
        writeEntries(streamDir, 2, 3);
        Files.createFile(streamDir.resolve("00000000000000000006.log"));
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config(streamDir))) {
            assertThat(captured.warnings()).isEmpty();
            assertThat(log.nextSequence()).isEqualTo(6);
            long next = appendBatches(log, 4);
            assertThat(readAll(log, 1, 100, 1 << 20)).isEqualTo(payloads(1, next));
        }
        assertThat(Files.size(streamDir.resolve("00000000000000000006.log"))).isPositive();
    }

    @Test
    void aNewestSegmentThatDoesNotContinueTheOneBeforeIsDeleted() throws IOException {
        Path streamDir = dir.resolve("s");
        writeEntries(streamDir, 2, 3);
        Files.createFile(streamDir.resolve("00000000000000000009.log"));
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config(streamDir))) {
            assertThat(captured.warnings()).singleElement().asString()
                    .contains("00000000000000000009.log", "starts at sequence 9", "ends at sequence 5");
            assertThat(log.nextSequence()).isEqualTo(6);
        }
    }

    @Test
    void missingOrDamagedIndexesAreRebuiltFromTheLog() throws IOException {
        Path streamDir = dir.resolve("s");
        StoreConfig config = config(streamDir).withSegmentBytes(500);
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 40; i++) {
                appendBatches(log, 1 + i % 4);
            }
            next = log.nextSequence();
        }
        List<Path> indexes;
        try (Stream<Path> files = Files.list(streamDir)) {
            indexes = files.filter(p -> p.toString().endsWith(".idx")).sorted().toList();
        }
        assertThat(indexes).hasSizeGreaterThan(3);
        List<byte[]> originals = new ArrayList<>();
        for (Path idx : indexes) {
            originals.add(Files.readAllBytes(idx));
        }
        Files.delete(indexes.get(0));                                   // missing
        truncate(indexes.get(1), originals.get(1).length - 9);          // short, torn record
        Files.write(indexes.get(2), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}); // nonsense
        Files.delete(indexes.get(indexes.size() - 1));                  // the active segment's
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            assertThat(log.nextSequence()).isEqualTo(next);
            assertThat(readAll(log, 1, 3, 40)).isEqualTo(payloads(1, next));
            for (long from = 1; from < next; from += 5) {
                assertThat(readAll(log, from, 1000, 1 << 20)).isEqualTo(payloads(from, next));
            }
        }
        for (int i = 0; i < indexes.size(); i++) {
            assertThat(Files.readAllBytes(indexes.get(i))).as(indexes.get(i).toString()).isEqualTo(originals.get(i));
        }
    }

    @Test
    void aPlausibleButWrongIndexIsRebuiltWhenAReadFindsItWrong() throws IOException {
        Path streamDir = dir.resolve("s");
        StoreConfig config = config(streamDir).withSegmentBytes(500);
        long next;
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 40; i++) {
                appendBatches(log, 2);
            }
            next = log.nextSequence();
        }
        Path firstIndex = streamDir.resolve("00000000000000000001.idx");
        byte[] good = Files.readAllBytes(firstIndex);
        assertThat(good.length / OffsetIndex.RECORD_BYTES).isGreaterThan(2);
        // the second record points a few bytes past its entry: still rising, so it looks plausible on open
        byte[] bad = good.clone();
        ByteBuffer.wrap(bad).putLong(OffsetIndex.RECORD_BYTES + 8,
                ByteBuffer.wrap(good).getLong(OffsetIndex.RECORD_BYTES + 8) + 4);
        Files.write(firstIndex, bad);
        long second = ByteBuffer.wrap(good).getLong(OffsetIndex.RECORD_BYTES);
        try (StorageFixtures.CapturedLog captured = new StorageFixtures.CapturedLog();
             SegmentedFileLog log = SegmentedFileLog.open(config)) {
            List<StreamLog.Slice> out = new ArrayList<>();
            assertThat(log.read(second, 1, 1, out)).isEqualTo(1);
            assertThat(out.get(0).batch().payload(0)).asString().isEqualTo(StorageFixtures.payload(second));
            assertThat(captured.warnings()).singleElement().asString().contains("Rebuilding index", "00000000000000000001.idx");
            assertThat(readAll(log, 1, 3, 40)).isEqualTo(payloads(1, next));
        }
        assertThat(Files.readAllBytes(firstIndex)).isEqualTo(good);
    }

    @Test
    void indexesOfClosedSegmentsAreSparse() throws IOException {
        Path streamDir = dir.resolve("s");
        StoreConfig config = config(streamDir).withSegmentBytes(4096).withIndexIntervalBytes(1024);
        try (SegmentedFileLog log = SegmentedFileLog.open(config)) {
            for (int i = 0; i < 100; i++) {
                appendBatches(log, 1);
            }
        }
        long idx = Files.size(streamDir.resolve("00000000000000000001.idx"));
        long logBytes = Files.size(streamDir.resolve(FIRST_SEGMENT));
        assertThat(idx / OffsetIndex.RECORD_BYTES).isBetween(logBytes / 1024, logBytes / 1024 + 1);
    }
}
