package dev.wirebus.server.internal.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Brings a stream directory to a consistent state on open: finds the segments, checks that they
 * follow each other without gap, and verifies entries (header, contiguous sequence, CRC32C, record
 * layout): all of the newest segment, and of each older one the tail from its last sound index
 * entry, which is where a crash can tear it and what tells where it ends. A torn or corrupt entry
 * is cut off with everything after it, with one WARN line naming the file, the offset, the defect,
 * the bytes dropped and the last good sequence; segments after a cut or a gap are deleted (one
 * WARN line each), because the log has no holes. Indexes are extended or rebuilt from the scan.
 *
 * <p>Cost: opening reads the newest segment once (at most a segment size) and a few KiB of each
 * older one. Entries of older segments that recovery did not check are checked when read.
 *
 * <p>Threading: used once, by the thread opening the log, before anyone else sees the directory.
 */
final class SegmentRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentRecovery.class);

    private final Path directory;
    private final int indexIntervalBytes;
    private final EntryReader reader;
    private final Path quarantine;
    private final FileModes modes;
    /** Bytes cut off or dropped with whole segments. */
    long droppedBytes;
    /** Files recovery wrote into the quarantine directory. */
    final List<Path> quarantined = new ArrayList<>();

    SegmentRecovery(Path directory, int indexIntervalBytes, EntryReader reader) {
        this(directory, indexIntervalBytes, reader, directory.resolve("quarantine"), FileModes.NONE);
    }

    /**
     * @param quarantine where damaged bytes and the segments after a cut are moved (created when needed)
     */
    SegmentRecovery(Path directory, int indexIntervalBytes, EntryReader reader, Path quarantine, FileModes modes) {
        this.directory = directory;
        this.indexIntervalBytes = indexIntervalBytes;
        this.reader = reader;
        this.quarantine = quarantine;
        this.modes = modes;
    }

    /**
     * The directory's valid segments, oldest first; the index of the newest is left loaded, the
     * others' indexes are written back if they changed and dropped from memory.
     */
    List<Segment> recover() throws IOException {
        List<Long> bases = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + Segment.LOG_SUFFIX)) {
            for (Path file : files) {
                long base = Segment.parseBase(file.getFileName().toString());
                if (base > 0) {
                    bases.add(base);
                }
            }
        }
        bases.sort(null);
        List<Segment> segments = new ArrayList<>();
        for (int i = 0; i < bases.size(); i++) {
            Segment segment = new Segment(directory, bases.get(i));
            if (!segments.isEmpty()) {
                Segment previous = segments.get(segments.size() - 1);
                if (segment.baseSequence != previous.nextSequence) {
                    deleteFrom(bases, i, "it starts at sequence " + segment.baseSequence + " but "
                            + previous.logPath.getFileName() + " ends at sequence " + (previous.nextSequence - 1));
                    break;
                }
                previous.index.persist();
                previous.index = null;
            }
            boolean intact = scan(segment, i == bases.size() - 1);
            segments.add(segment);
            if (!intact && i + 1 < bases.size()) {
                deleteFrom(bases, i + 1, "it follows the cut in " + segment.logPath.getFileName());
                break;
            }
        }
        return segments;
    }

    /**
     * Verifies a segment from its last sound index entry, or all of it, to its end, cutting it at
     * the first defect; true when there was none.
     */
    private boolean scan(Segment segment, boolean whole) throws IOException {
        modes.file(segment.logPath);
        try (FileChannel channel = FileChannel.open(segment.logPath, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            long fileSize = channel.size();
            OffsetIndex stored = OffsetIndex.load(segment.indexPath, indexIntervalBytes, segment.baseSequence,
                    fileSize);
            OffsetIndex index = stored;
            int k = index.size() - 1;
            if (whole) {
                index = OffsetIndex.empty(segment.indexPath, indexIntervalBytes);
                k = -1;
            }
            while (k >= 0 && !soundHeaderAt(channel, index.position(k), index.sequence(k))) {
                k--;
            }
            index.truncate(k + 1);
            long position = k >= 0 ? index.position(k) : 0;
            long expected = k >= 0 ? index.sequence(k) : segment.baseSequence;
            segment.index = index;
            segment.size = position;
            segment.nextSequence = expected;
            if (position > 0) {
                readOldestTimestamp(channel, segment);
            }

            String defect = null;
            while (position < fileSize) {
                defect = entryDefect(channel, position, fileSize, expected);
                if (defect != null) {
                    break;
                }
                EntryFormat.Header header = EntryFormat.readHeader(reader.read(channel, position,
                        EntryFormat.HEADER_BYTES), 0);
                index.maybeAdd(expected, position);
                segment.noteEntry(header.entryBytes(), header.count(), header.timestamp());
                position += header.entryBytes();
                expected = header.nextSequence();
            }
            if (whole) {
                index.keepFileIfSameAs(stored);
            }
            if (defect == null) {
                return true;
            }
            Path kept = quarantineBytes(channel, segment, position, fileSize);
            reader.invalidate();
            channel.truncate(position);
            channel.force(true);
            droppedBytes += fileSize - position;
            LOG.warn("Truncated {} at offset {} ({}): dropped {} bytes, last good sequence {}; the bytes cut off "
                    + "are kept in {}", segment.logPath, position, defect, fileSize - position, expected - 1, kept);
            return false;
        }
    }

    /** What is wrong with the entry expected at {@code position}, or null when it is sound. */
    private String entryDefect(FileChannel channel, long position, long fileSize, long expected) throws IOException {
        long left = fileSize - position;
        if (left < EntryFormat.HEADER_BYTES) {
            return "torn header: " + left + " of " + EntryFormat.HEADER_BYTES + " bytes";
        }
        ByteBuffer head = reader.read(channel, position, EntryFormat.HEADER_BYTES);
        String defect = EntryFormat.headerDefect(head, 0);
        if (defect != null) {
            return defect;
        }
        EntryFormat.Header header = EntryFormat.readHeader(head, 0);
        if (header.baseSequence() != expected) {
            return "base sequence " + header.baseSequence() + " where " + expected + " was expected";
        }
        if (header.entryBytes() > Integer.MAX_VALUE) {
            return "payload length " + header.payloadLength() + " too large";
        }
        if (left < header.entryBytes()) {
            return "torn payload: " + (left - EntryFormat.HEADER_BYTES) + " of " + header.payloadLength() + " bytes";
        }
        ByteBuffer entry = reader.read(channel, position, (int) header.entryBytes());
        return EntryFormat.payloadDefect(entry, 0, header);
    }

    /** True when a well-formed header with base sequence {@code sequence} starts at {@code position}. */
    private boolean soundHeaderAt(FileChannel channel, long position, long sequence) throws IOException {
        ByteBuffer head = reader.read(channel, position, EntryFormat.HEADER_BYTES);
        return EntryFormat.headerDefect(head, 0) == null
                && EntryFormat.readHeader(head, 0).baseSequence() == sequence;
    }

    private void readOldestTimestamp(FileChannel channel, Segment segment) throws IOException {
        ByteBuffer head = reader.read(channel, 0, EntryFormat.HEADER_BYTES);
        if (EntryFormat.headerDefect(head, 0) == null) {
            segment.oldestTimestamp = EntryFormat.readHeader(head, 0).timestamp();
        }
    }

    private void deleteFrom(List<Long> bases, int from, String reason) throws IOException {
        for (int i = from; i < bases.size(); i++) {
            Segment doomed = new Segment(directory, bases.get(i));
            long bytes = Files.size(doomed.logPath);
            Path kept = quarantineTarget(doomed.logPath.getFileName() + ".dropped");
            Files.move(doomed.logPath, kept);
            quarantined.add(kept);
            droppedBytes += bytes;
            Files.deleteIfExists(doomed.indexPath);
            Files.deleteIfExists(doomed.producersPath);
            LOG.warn("Dropped {} ({} bytes) from the log because {}; moved to {}", doomed.logPath, bytes, reason, kept);
            reason = "it follows " + doomed.logPath.getFileName();
        }
        syncDirectory(quarantine);
        syncDirectory(directory);
    }

    /** Copies bytes {@code [from, to)} of a segment into a new quarantine file, synced, before they are cut. */
    private Path quarantineBytes(FileChannel channel, Segment segment, long from, long to) throws IOException {
        Path target = quarantineTarget(segment.logPath.getFileName() + ".at-" + from + ".damaged");
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            modes.file(target);
            long position = from;
            while (position < to) {
                long n = channel.transferTo(position, to - position, out);
                if (n <= 0) {
                    break;
                }
                position += n;
            }
            out.force(true);
        }
        syncDirectory(quarantine);
        quarantined.add(target);
        return target;
    }

    /** A new file name in the quarantine directory (created if missing), unique by a time stamp and counter. */
    private Path quarantineTarget(String name) throws IOException {
        modes.createDirectories(quarantine);
        String stamp = java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                .format(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC));
        Path target = quarantine.resolve(name + "." + stamp);
        for (int n = 1; Files.exists(target); n++) {
            target = quarantine.resolve(name + "." + stamp + "-" + n);
        }
        return target;
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
