package dev.wirebus.server.internal.storage;

import dev.wirebus.protocol.RecordBatch;
import dev.wirebus.server.internal.ProducerTable;
import dev.wirebus.server.internal.SliceCollector;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One stream's log on local disk: append-only segment files in the stream's own directory, each
 * append one entry (header and the batch's wire bytes, see {@link EntryFormat}) written with one
 * positional write; a sparse index per segment; a cache of the tail in memory; retention by whole
 * segments; recovery of a torn tail on open (see {@link SegmentRecovery}).
 *
 * <p>Threading. The {@link dev.wirebus.server.internal.StreamLog} methods, {@link #enforceRetention()}
 * and {@link #close()} must be called by one thread at a time, as {@code Stream} does under its
 * lock; they are not safe concurrently with each other. {@link #sync()}, {@link #durableSequence()},
 * {@link #writtenSequence()}, {@link #unsyncedBytes()} and {@link #syncCount()} are safe from any
 * thread, concurrently with everything else: a sync holds an internal lock for its fsyncs, and an
 * append takes that lock only when it rolls to a new segment or retention deletes one, so appends
 * wait for an fsync in progress only then. Never interrupt a thread while it is inside a method of
 * this class: Java closes a {@link FileChannel} when a thread blocked in it is interrupted, and the
 * log then fails.
 *
 * <p>Lifecycle: {@link #open} recovers the directory and syncs what it found, so
 * {@link #durableSequence()} starts at the last recovered sequence; {@link #close()} closes the
 * files without syncing. After a failed fsync or an unrecoverable write error the log refuses
 * appends and syncs with {@link StorageException}; reads of what is on disk keep working.
 */
public final class SegmentedFileLog implements DurableStreamLog, OpenFileBudget.Holder {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentedFileLog.class);
    /** Closed segments whose channel and index are kept open for reads, least recently used first out. */
    private static final int MAX_OPEN_CLOSED_SEGMENTS = 8;

    /** The visible mark: the highest sequence this log ever made visible, in its own file. */
    static final String MARK_FILE = "visible.mark";
    private static final int MARK_MAGIC = 0x5742564D; // "WBVM"
    private static final int MARK_SLOT_BYTES = 16;

    /**
     * What recovery found at open.
     *
     * @param markBefore the visible mark read before recovery: -1 when there was no mark file
     *     (a new stream, or one written before marks existed), -2 when the file was damaged
     * @param lastRecovered the last sequence the log holds after recovery
     * @param droppedBytes bytes cut off or dropped with whole segments
     * @param quarantined the files the dropped bytes were moved into
     * @param cutBelowVisible recovery dropped records at or below the mark: sequences a client may
     *     have seen are gone, and the log would hand them out again
     */
    public record Recovery(long markBefore, long lastRecovered, long droppedBytes, List<Path> quarantined,
                           boolean cutBelowVisible) {
    }

    private final StoreConfig config;
    private final LogOptions options;
    private final Clock clock;
    private final EntryReader reader;
    private final TailCache cache;
    /** Oldest first; the last is the active one, never empty of segments. */
    private final List<Segment> segments;
    private final LinkedHashMap<Segment, Boolean> openClosedSegments = new LinkedHashMap<>(16, 0.75f, true);
    private long nextSequence;
    private long retainedBytes;
    private ByteBuffer scratch;
    private ByteBuf scratchWriter;
    /** Where the entry starting at {@link #hintSequence} is, after the last read from disk. */
    private Segment hintSegment;
    private long hintSequence;
    private long hintPosition;
    /** The entry last read from disk, for a read that stopped inside it. */
    private TailCache.Entry lastDiskEntry;
    /** Base sequence of the entry {@link #locate} found last. */
    private long locatedBase;
    private boolean closed;
    /** The stream's idempotent producers; null until first asked for, then rebuilt from snapshot and stamps. */
    private ProducerTable producers;

    /**
     * Held by every {@code StreamLog} method, {@link #enforceRetention()} and {@link #close()}
     * (they are called one thread at a time anyway), so that the open-file budget can close this
     * log's files from another thread, with {@link #tryCloseFiles()}, only while no one uses them.
     */
    private final ReentrantLock useLock = new ReentrantLock();
    /** Guarded by useLock: the files were closed by the budget and are reopened at next use. */
    private boolean filesClosed;
    /** Guarded by useLock: uses since the budget last heard of this log. */
    private int usesUnreported;
    /** Guarded by useLock: open files the budget last heard of. */
    private int reportedFiles = -1;
    private Recovery recovery;

    /** Held for the whole of a sync; guards the fields below up to durableSequence. */
    private final ReentrantLock syncLock = new ReentrantLock();
    /** The active segment's channel; null once closed or while its files are closed by the budget. */
    private FileChannel syncChannel;
    /** The active segment's file (to sync when its channel is closed by the budget). */
    private Path syncPath;
    private boolean syncClosed;
    /** The visible mark's file, open while written; null while closed. */
    private FileChannel markChannel;
    /** Slot the next mark goes to. */
    private int markSlot;
    /** Mark last written by this log; -1 before the first write (which writes both slots). */
    private long markWritten = -1;
    /** Marks are not written until a cut below the mark is acknowledged by the store. */
    private boolean markHeld;
    /** The mark file was written since it was last fsynced. */
    private boolean markUnsynced;
    /** Segments rolled away from and not yet synced. */
    private final List<Path> unsyncedSegments = new ArrayList<>();
    /** A segment file was created since the directory was last synced. */
    private boolean directoryDirty;

    private volatile long writtenSequence;
    private volatile long writtenBytes;
    private volatile long durableSequence;
    private volatile long syncedBytes;
    private volatile long syncCount;
    private volatile StorageException failure;

    private SegmentedFileLog(StoreConfig config, LogOptions options, Clock clock, EntryReader reader,
                             List<Segment> segments) {
        this.config = config;
        this.options = options;
        this.clock = clock;
        this.reader = reader;
        this.cache = new TailCache(config.tailCacheBytes());
        this.segments = segments;
    }

    /** Opens (creating if needed) the log in {@code config.directory()}, stamping entries with the system clock. */
    public static SegmentedFileLog open(StoreConfig config) {
        return open(config, Clock.systemUTC());
    }

    /**
     * Opens (creating if needed) the log in {@code config.directory()}: recovers what is there,
     * cutting a torn tail, and syncs it.
     *
     * @param clock the time written into entries and compared with the age limit
     * @throws StorageException when the directory cannot be read or written
     */
    public static SegmentedFileLog open(StoreConfig config, Clock clock) {
        return open(config, clock, LogOptions.DEFAULTS);
    }

    /**
     * Opens (creating if needed) the log in {@code config.directory()} as {@link #open(StoreConfig, Clock)},
     * sharing {@code options} with the other logs of its store. Read {@link #recovery()} afterwards:
     * when it reports a cut below the visible mark, the mark stays where it was (so a crash before
     * the store has dealt with it finds the cut again) until {@link #acknowledgeCut()}.
     */
    public static SegmentedFileLog open(StoreConfig config, Clock clock, LogOptions options) {
        Path dir = config.directory();
        try {
            boolean created = !Files.isDirectory(dir);
            options.modes().createDirectories(dir);
            options.modes().directory(dir);
            if (created && dir.toAbsolutePath().getParent() != null) {
                syncDirectory(dir.toAbsolutePath().getParent());
            }
            long mark = readMark(dir.resolve(MARK_FILE));
            EntryReader reader = new EntryReader();
            SegmentRecovery recovering = new SegmentRecovery(dir, config.indexIntervalBytes(), reader,
                    options.quarantine() != null ? options.quarantine() : dir.resolve("quarantine"), options.modes());
            List<Segment> segments = recovering.recover();
            long last = segments.isEmpty() ? 0 : segments.get(segments.size() - 1).nextSequence - 1;
            boolean cut = mark >= 0 ? last < mark
                    : mark == -2 && recovering.droppedBytes > 0; // no sound mark: a cut may have gone below it
            SegmentedFileLog log = new SegmentedFileLog(config, options, clock, reader, segments);
            log.recovery = new Recovery(mark, last, recovering.droppedBytes, List.copyOf(recovering.quarantined), cut);
            log.markHeld = cut;
            try {
                log.start();
            } catch (IOException | RuntimeException e) {
                log.close();
                throw e;
            }
            log.reportFiles();
            return log;
        } catch (IOException e) {
            throw new StorageException("cannot open the stream log in " + dir + ": " + e, e);
        }
    }

    private void start() throws IOException {
        if (segments.isEmpty()) {
            segments.add(createSegment(1));
        } else {
            Segment active = segments.get(segments.size() - 1);
            active.channel = FileChannel.open(active.logPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
            if (active.index == null) {
                active.index = OffsetIndex.load(active.indexPath, config.indexIntervalBytes(), active.baseSequence,
                        active.size);
            }
            active.index.startAppending();
            options.modes().file(active.indexPath);
        }
        for (Segment s : segments) {
            retainedBytes += s.size;
        }
        Segment active = active();
        nextSequence = active.nextSequence;
        writtenSequence = nextSequence - 1;
        syncLock.lock();
        try {
            syncChannel = active.channel;
            syncPath = active.logPath;
            for (int i = 0; i < segments.size() - 1; i++) {
                unsyncedSegments.add(segments.get(i).logPath);
            }
            directoryDirty = true;
        } finally {
            syncLock.unlock();
        }
        sync();
        enforceRetention();
    }

    private Segment createSegment(long baseSequence) throws IOException {
        Segment segment = new Segment(config.directory(), baseSequence);
        segment.channel = FileChannel.open(segment.logPath, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            options.modes().file(segment.logPath);
            segment.index = OffsetIndex.empty(segment.indexPath, config.indexIntervalBytes());
            segment.index.startAppending();
            options.modes().file(segment.indexPath);
        } catch (IOException e) {
            segment.closeFiles();
            Files.deleteIfExists(segment.logPath);
            throw e;
        }
        return segment;
    }

    private Segment active() {
        return segments.get(segments.size() - 1);
    }

    // ---------------------------------------------------------------- append

    @Override
    public long append(RecordBatch records) {
        return append(records, null, 0);
    }

    @Override
    public long append(RecordBatch records, String producerId, long producerSequence) {
        enter();
        try {
            return appendInUse(records, producerId, producerSequence);
        } finally {
            leave();
        }
    }

    private long appendInUse(RecordBatch records, String producerId, long producerSequence) {
        ProducerTable table = producerId == null ? null : producersInUse();
        checkWritable();
        int count = records.count();
        if (count == 0) {
            return nextSequence;
        }
        byte[] id = producerId == null ? null : producerId.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int stampLength = id == null ? 0 : EntryFormat.stampLength(id.length);
        long entryBytes = EntryFormat.HEADER_BYTES + (long) stampLength + records.sizeInBytes();
        long now = clock.millis();
        Segment active = active();
        if (!active.isEmpty() && (active.size + entryBytes > config.segmentBytes() || agedOut(active, now))) {
            roll();
            active = active();
        }
        long first = nextSequence;
        ByteBuffer entry = encode(records, first, now, id, producerSequence);
        long position = active.size;
        try {
            OffsetIndex.writeFully(active.channel, entry, position);
        } catch (IOException e) {
            discardPartialWrite(active, position);
            throw new StorageException("append to " + active.logPath + " at offset " + position + " failed: " + e, e);
        }
        active.index.maybeAdd(first, position);
        active.noteEntry(entryBytes, count, now);
        nextSequence += count;
        retainedBytes += entryBytes;
        writtenBytes += entryBytes;
        writtenSequence = nextSequence - 1;
        cache.add(first, records);
        if (table != null) {
            table.record(producerId, producerSequence, first, count);
        }
        if (options.markEveryAppend()) {
            syncLock.lock();
            try {
                writeMark(nextSequence - 1);
            } finally {
                syncLock.unlock();
            }
        }
        enforceRetentionInUse();
        return first;
    }

    // ---------------------------------------------------------------- producers

    private static final int SNAPSHOT_MAGIC = 0x57425053; // "WBPS"

    @Override
    public ProducerTable producers() {
        enter();
        try {
            return producersInUse();
        } finally {
            leave();
        }
    }

    private ProducerTable producersInUse() {
        if (producers == null) {
            checkOpen();
            ProducerTable table = new ProducerTable();
            try {
                rebuildProducers(table);
            } catch (IOException e) {
                throw new StorageException("cannot rebuild the producer table of " + config.directory() + ": " + e, e);
            }
            producers = table;
        }
        return producers;
    }

    /** Loads the newest sound snapshot, then replays the stamps of the entries after it. */
    private void rebuildProducers(ProducerTable table) throws IOException {
        int start = 0;
        for (int i = segments.size() - 1; i >= 0; i--) {
            if (loadSnapshot(segments.get(i), table)) {
                start = i;
                break;
            }
        }
        for (int i = start; i < segments.size(); i++) {
            Segment segment = segments.get(i);
            openForRead(segment);
            long position = 0;
            long expected = segment.baseSequence;
            while (position < segment.size) {
                EntryFormat.Header header = readHeader(segment, position, expected, expected);
                if (header.stampLength() > 0) {
                    EntryFormat.Stamp stamp = EntryFormat.readStamp(reader.read(segment.channel,
                            position + EntryFormat.HEADER_BYTES, header.stampLength()), 0, header.stampLength());
                    if (stamp == null) {
                        throw corrupt(segment, position, "producer stamp does not fill its bytes");
                    }
                    table.record(stamp.producerId(), stamp.producerSequence(), header.baseSequence(), header.count());
                }
                position += header.entryBytes();
                expected = header.nextSequence();
            }
        }
    }

    private boolean loadSnapshot(Segment segment, ProducerTable table) {
        if (!Files.exists(segment.producersPath)) {
            return false;
        }
        try {
            byte[] bytes = Files.readAllBytes(segment.producersPath);
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes, 0, Math.max(0, bytes.length - 4));
            ByteBuffer b = ByteBuffer.wrap(bytes);
            if (bytes.length < 16 || b.getInt(0) != SNAPSHOT_MAGIC || b.getLong(4) != segment.baseSequence
                    || b.getInt(bytes.length - 4) != (int) crc.getValue()) {
                LOG.warn("Ignoring producer snapshot {}: damaged or not of this segment", segment.producersPath);
                return false;
            }
            table.readFrom(new java.io.DataInputStream(new java.io.ByteArrayInputStream(bytes, 12, bytes.length - 16)));
            return true;
        } catch (IOException e) {
            LOG.warn("Ignoring producer snapshot {}: {}", segment.producersPath, e.toString());
            table.clear();
            return false;
        }
    }

    /**
     * At a roll: the table as it is before the new segment's first entry, so a restart replays only
     * from there. Not synced: a lost or torn snapshot is detected and an older one used. When the
     * table was never loaded, any snapshot left under that name from an earlier life is removed.
     */
    private void writeSnapshot(Segment segment) {
        try {
            if (producers == null) {
                Files.deleteIfExists(segment.producersPath);
                return;
            }
            java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
            java.io.DataOutputStream out = new java.io.DataOutputStream(bytes);
            out.writeInt(SNAPSHOT_MAGIC);
            out.writeLong(segment.baseSequence);
            producers.writeTo(out);
            out.flush();
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(bytes.toByteArray());
            out.writeInt((int) crc.getValue());
            Path tmp = segment.producersPath.resolveSibling(segment.producersPath.getFileName() + ".tmp");
            Files.write(tmp, bytes.toByteArray());
            options.modes().file(tmp);
            Files.move(tmp, segment.producersPath, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("Could not write producer snapshot {}: {}; a restart replays more of the log", segment.producersPath,
                    e.toString());
        }
    }

    private boolean agedOut(Segment segment, long now) {
        return config.retentionAgeMillis() != StoreConfig.UNLIMITED && segment.oldestTimestamp != Long.MIN_VALUE
                && now - segment.oldestTimestamp >= config.retentionAgeMillis();
    }

    /** The entry for {@code records} in the scratch buffer, ready to write. */
    private ByteBuffer encode(RecordBatch records, long first, long now, byte[] producerId, long producerSequence) {
        int stampLength = producerId == null ? 0 : EntryFormat.stampLength(producerId.length);
        int payload = stampLength + records.sizeInBytes();
        int total = EntryFormat.HEADER_BYTES + payload;
        if (scratch == null || scratch.capacity() < total) {
            int capacity = Math.max(64 << 10, Integer.highestOneBit(Math.max(1, total - 1)) << 1);
            scratch = ByteBuffer.allocateDirect(capacity < 0 ? total : capacity);
            scratchWriter = Unpooled.wrappedBuffer(scratch);
        }
        scratchWriter.clear().writerIndex(EntryFormat.HEADER_BYTES + stampLength);
        records.writeTo(scratchWriter, 0, records.count());
        scratch.clear();
        if (producerId != null) {
            EntryFormat.writeStamp(scratch, EntryFormat.HEADER_BYTES, producerId, producerSequence);
        }
        EntryFormat.writeHeader(scratch, 0, first, records.count(), now, payload, stampLength);
        return scratch.limit(total);
    }

    /** Cuts off what a failed write may have left; the log fails if even that fails. */
    private void discardPartialWrite(Segment active, long position) {
        reader.invalidate();
        try {
            active.channel.truncate(position);
        } catch (IOException e) {
            failure = new StorageException("cannot cut a failed append off " + active.logPath + " at offset "
                    + position + ": " + e, e);
        }
    }

    private void roll() {
        Segment old = active();
        Segment next;
        try {
            next = createSegment(nextSequence);
        } catch (IOException e) {
            throw new StorageException("cannot create segment " + nextSequence + " in " + config.directory() + ": " + e,
                    e);
        }
        syncLock.lock();
        try {
            unsyncedSegments.add(old.logPath);
            directoryDirty = true;
            syncChannel = next.channel;
            syncPath = next.logPath;
        } finally {
            syncLock.unlock();
        }
        old.index.close();
        segments.add(next);
        keepOpen(old);
        writeSnapshot(next);
    }

    // ---------------------------------------------------------------- durability

    @Override
    public void sync() {
        syncLock.lock();
        try {
            if (syncClosed) {
                throw new StorageException("stream log " + config.directory() + " is closed");
            }
            checkNotFailed();
            long bytes = writtenBytes;
            long target = writtenSequence;
            if (target == durableSequence && unsyncedSegments.isEmpty() && !directoryDirty) {
                return;
            }
            try {
                for (Path rolled : unsyncedSegments) {
                    try (FileChannel channel = FileChannel.open(rolled, StandardOpenOption.WRITE)) {
                        channel.force(false);
                    }
                }
                unsyncedSegments.clear();
                if (syncChannel != null) {
                    syncChannel.force(false);
                } else {
                    // the open-file budget closed the active segment: fsync covers the file, whichever descriptor
                    try (FileChannel channel = FileChannel.open(syncPath, StandardOpenOption.WRITE)) {
                        channel.force(false);
                    }
                }
                if (directoryDirty) {
                    syncDirectory(config.directory());
                    directoryDirty = false;
                }
                // before durableSequence rises and the records become visible: the mark never lags what was shown
                writeMark(target);
            } catch (IOException e) {
                failure = new StorageException("fsync in " + config.directory() + " failed; the log accepts no more "
                        + "appends: " + e, e);
                throw failure;
            }
            syncCount++;
            syncedBytes = bytes;
            durableSequence = target;
        } finally {
            syncLock.unlock();
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    // ---------------------------------------------------------------- the visible mark

    /**
     * Reads the mark file: the higher of its two sound slots; -1 when there is no file, -2 when it
     * has no sound slot (one WARN line naming the file).
     */
    static long readMark(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            return -1;
        } catch (IOException e) {
            LOG.warn("Cannot read the visible mark {}: {}", file, e.toString());
            return -2;
        }
        long best = -2;
        ByteBuffer b = ByteBuffer.wrap(bytes);
        for (int slot = 0; slot < 2 && (slot + 1) * MARK_SLOT_BYTES <= bytes.length; slot++) {
            int at = slot * MARK_SLOT_BYTES;
            long seq = b.getLong(at);
            if (b.getInt(at + 12) == MARK_MAGIC && b.getInt(at + 8) == markCrc(seq, slot) && seq >= 0) {
                best = Math.max(best, seq);
            }
        }
        if (best == -2) {
            LOG.warn("The visible mark {} is damaged ({} bytes, no sound slot): a cut below what was visible "
                    + "cannot be ruled out from it", file, bytes.length);
        }
        return best;
    }

    private static int markCrc(long seq, int slot) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(ByteBuffer.allocate(9).putLong(seq).put((byte) slot).flip());
        return (int) crc.getValue();
    }

    /**
     * Under syncLock: records {@code seq} as visible (in the page cache, which a process crash
     * keeps; fsynced at close and when a cut is acknowledged, else written back by the kernel). The first write after open fills both slots. A failed write is
     * logged and leaves the mark lower: a later cut might then go unnoticed, never the reverse.
     */
    private void writeMark(long seq) {
        if (markHeld || seq <= markWritten) {
            return;
        }
        Path file = config.directory().resolve(MARK_FILE);
        // while the budget keeps this log's files closed (a committer's sync), write through a
        // descriptor of its own: one kept open here would be a file the budget does not see
        boolean transientChannel = markChannel == null && syncChannel == null;
        try {
            if (markChannel == null) {
                boolean existed = Files.exists(file);
                markChannel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                if (!existed) {
                    options.modes().file(file);
                    directoryDirty = true;
                }
            }
            int slots = markWritten < 0 ? 2 : 1;
            for (int i = 0; i < slots; i++) {
                ByteBuffer b = ByteBuffer.allocate(MARK_SLOT_BYTES);
                b.putLong(seq).putInt(markCrc(seq, markSlot)).putInt(MARK_MAGIC).flip();
                OffsetIndex.writeFully(markChannel, b, (long) markSlot * MARK_SLOT_BYTES);
                markSlot ^= 1;
            }
            markWritten = seq;
            markUnsynced = true;
            if (transientChannel) {
                closeMarkChannel(); // still unsynced: close() syncs it
            }
        } catch (IOException e) {
            LOG.warn("Could not write the visible mark {}: {}", file, e.toString());
            closeMarkChannel();
        }
    }

    /** Under syncLock: fsyncs the mark file if written since (through a fresh descriptor if none is open). */
    private void syncMark() {
        if (markUnsynced) {
            try {
                if (markChannel != null) {
                    markChannel.force(false);
                } else {
                    try (FileChannel ch = FileChannel.open(config.directory().resolve(MARK_FILE),
                            StandardOpenOption.WRITE)) {
                        ch.force(false);
                    }
                }
                markUnsynced = false;
            } catch (IOException e) {
                LOG.warn("Could not sync the visible mark in {}: {}", config.directory(), e.toString());
            }
        }
    }

    private void closeMarkChannel() {
        FileChannel m = markChannel;
        markChannel = null;
        if (m != null) {
            try {
                m.close();
            } catch (IOException ignored) {
                // nothing to keep
            }
        }
    }

    /** What recovery found when the log was opened. */
    public Recovery recovery() {
        return recovery;
    }

    /**
     * The store has dealt with a cut below the visible mark (a new store epoch is durable): the mark
     * is set to the log's end, both slots, and fsynced.
     */
    public void acknowledgeCut() {
        syncLock.lock();
        try {
            markHeld = false;
            markWritten = -1;
            writeMark(writtenSequence);
            syncMark();
        } finally {
            syncLock.unlock();
        }
    }

    @Override
    public long durableSequence() {
        return durableSequence;
    }

    @Override
    public long writtenSequence() {
        return writtenSequence;
    }

    @Override
    public long unsyncedBytes() {
        return writtenBytes - syncedBytes;
    }

    @Override
    public long syncCount() {
        return syncCount;
    }

    // ---------------------------------------------------------------- retention

    @Override
    public void enforceRetention() {
        enter();
        try {
            enforceRetentionInUse();
        } finally {
            leave();
        }
    }

    private void enforceRetentionInUse() {
        checkOpen();
        boolean byAge = config.retentionAgeMillis() != StoreConfig.UNLIMITED;
        long now = byAge ? clock.millis() : 0;
        while (segments.size() > 1) {
            Segment oldest = segments.get(0);
            boolean over = nextSequence - oldest.baseSequence > config.retentionMessages()
                    || retainedBytes > config.retentionBytes()
                    || byAge && now - oldest.newestTimestamp > config.retentionAgeMillis();
            if (!over || !delete(oldest)) {
                return;
            }
        }
    }

    /** Deletes the oldest segment; false (with a WARN) when its file cannot be deleted. */
    private boolean delete(Segment oldest) {
        syncLock.lock();
        try {
            unsyncedSegments.remove(oldest.logPath);
        } finally {
            syncLock.unlock();
        }
        openClosedSegments.remove(oldest);
        oldest.closeFiles();
        try {
            Files.delete(oldest.logPath);
        } catch (IOException e) {
            LOG.warn("Retention could not delete {}: {}", oldest.logPath, e.toString());
            return false;
        }
        try {
            Files.deleteIfExists(oldest.indexPath);
            Files.deleteIfExists(oldest.producersPath);
        } catch (IOException e) {
            LOG.warn("Retention could not delete {}: {}", oldest.indexPath, e.toString());
        }
        segments.remove(0);
        retainedBytes -= oldest.size;
        if (hintSegment == oldest) {
            hintSegment = null;
        }
        if (lastDiskEntry != null && lastDiskEntry.firstSequence() < firstSequence()) {
            lastDiskEntry = null;
        }
        cache.dropBefore(firstSequence());
        return true;
    }

    // ---------------------------------------------------------------- reads

    @Override
    public long trimBefore(long before) {
        enter();
        try {
            checkOpen();
            // whole segments only, and never the one appended to
            while (segments.size() > 1 && segments.get(1).baseSequence <= before && delete(segments.get(0))) {
                // the next oldest
            }
            return firstSequence();
        } finally {
            leave();
        }
    }

    @Override
    public long retainedBytes() {
        return retainedBytes;
    }

    @Override
    public long firstSequence() {
        return segments.get(0).baseSequence;
    }

    @Override
    public long nextSequence() {
        return nextSequence;
    }

    /**
     * {@inheritDoc}
     *
     * <p>Same slices as the in-memory log for the same appends: the first batch touched is taken
     * up to {@code maxRecords} whatever its size; each later one while it fits in {@code maxBytes},
     * or a part of it found by halving; a read that stops inside a batch ends there.
     *
     * @throws IllegalArgumentException when {@code from} is not retained or not yet appended
     * @throws StorageException when the entry on disk is corrupt or cannot be read
     */
    @Override
    public int read(long from, int maxRecords, int maxBytes, List<Slice> out) {
        enter();
        try {
            return readInUse(from, maxRecords, maxBytes, out);
        } finally {
            leave();
        }
    }

    private int readInUse(long from, int maxRecords, int maxBytes, List<Slice> out) {
        checkOpen();
        if (from < firstSequence() || from >= nextSequence) {
            throw new IllegalArgumentException("sequence " + from + " is outside the log's [" + firstSequence() + ", "
                    + nextSequence + ")");
        }
        SliceCollector slices = new SliceCollector(from, maxRecords, maxBytes, out);
        while (slices.nextSequence() < nextSequence) {
            TailCache.Entry entry = entryContaining(slices.nextSequence());
            if (!slices.offer(entry.firstSequence(), entry.batch())) {
                break;
            }
        }
        return slices.taken();
    }

    /** The batch holding {@code seq}, from the tail cache or the disk. */
    private TailCache.Entry entryContaining(long seq) {
        TailCache.Entry cached = cache.find(seq);
        if (cached != null) {
            return cached;
        }
        if (lastDiskEntry != null && lastDiskEntry.contains(seq)) {
            return lastDiskEntry;
        }
        Segment segment = hintSegment != null && hintSequence == seq && hintPosition < hintSegment.size
                ? hintSegment : segmentContaining(seq);
        try {
            openForRead(segment);
            long position;
            long base;
            if (segment == hintSegment && hintSequence == seq) {
                position = hintPosition;
                base = seq;
            } else {
                position = locate(segment, seq);
                base = locatedBase;
            }
            EntryFormat.Header header = readHeader(segment, position, base, seq);
            ByteBuffer entry = reader.read(segment.channel, position, (int) header.entryBytes());
            String defect = EntryFormat.payloadDefect(entry, 0, header);
            if (defect != null) {
                throw corrupt(segment, position, defect);
            }
            RecordBatch batch = RecordBatch.read(
                    Unpooled.wrappedBuffer(entry.slice(header.recordsOffset(), header.recordsLength())),
                    header.count(), 0);
            lastDiskEntry = new TailCache.Entry(header.baseSequence(), batch);
            hintSegment = segment;
            hintSequence = header.nextSequence();
            hintPosition = position + header.entryBytes();
            if (hintPosition == segment.size && segment != active()) {
                hintSegment = segments.get(segments.indexOf(segment) + 1);
                hintPosition = 0;
            }
            return lastDiskEntry;
        } catch (IOException e) {
            throw new StorageException("reading sequence " + seq + " from " + segment + " failed: " + e, e);
        }
    }

    private Segment segmentContaining(long seq) {
        int lo = 0;
        int hi = segments.size() - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (segments.get(mid).baseSequence <= seq) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return segments.get(lo);
    }

    /** Position of the entry holding {@code seq}: the index's floor entry, then header by header. */
    private long locate(Segment segment, long seq) throws IOException {
        try {
            return walk(segment, seq);
        } catch (StorageException indexOrData) {
            // the index may be stale (changed behind our back): rebuild it from the file and try once more
            rebuildIndex(segment);
            return walk(segment, seq);
        }
    }

    /** Walks headers from the index's floor entry to the one holding {@code seq}; sets {@link #locatedBase}. */
    private long walk(Segment segment, long seq) throws IOException {
        int i = segment.index.floor(seq);
        if (i < 0) {
            throw corrupt(segment, 0, "index has no entry at or below sequence " + seq);
        }
        long position = segment.index.position(i);
        long expected = segment.index.sequence(i);
        while (true) {
            EntryFormat.Header header = readHeader(segment, position, expected, seq);
            if (header.nextSequence() > seq) {
                locatedBase = expected;
                return position;
            }
            position += header.entryBytes();
            expected = header.nextSequence();
        }
    }

    /** The sound header at {@code position}, which must have base sequence {@code expected} and lie inside the segment. */
    private EntryFormat.Header readHeader(Segment segment, long position, long expected, long seq) throws IOException {
        if (position + EntryFormat.HEADER_BYTES > segment.size) {
            throw corrupt(segment, position, "no entry holds sequence " + seq + " before the end of the segment");
        }
        ByteBuffer head = reader.read(segment.channel, position, EntryFormat.HEADER_BYTES);
        String defect = EntryFormat.headerDefect(head, 0);
        if (defect != null) {
            throw corrupt(segment, position, defect);
        }
        EntryFormat.Header header = EntryFormat.readHeader(head, 0);
        if (header.baseSequence() != expected) {
            throw corrupt(segment, position, "base sequence " + header.baseSequence() + " where " + expected
                    + " was expected");
        }
        if (position + header.entryBytes() > segment.size) {
            throw corrupt(segment, position, "entry runs past the end of the segment");
        }
        return header;
    }

    private StorageException corrupt(Segment segment, long position, String defect) {
        return new StorageException("corrupt entry in " + segment.logPath + " at offset " + position + ": " + defect);
    }

    /** Opens a closed segment's channel and index if needed and marks it recently used. */
    private void openForRead(Segment segment) {
        if (segment == active()) {
            return;
        }
        try {
            if (segment.channel == null) {
                segment.channel = FileChannel.open(segment.logPath, StandardOpenOption.READ);
            }
            if (segment.index == null) {
                segment.index = OffsetIndex.load(segment.indexPath, config.indexIntervalBytes(),
                        segment.baseSequence, segment.size);
            }
        } catch (IOException e) {
            segment.closeFiles();
            throw new StorageException("cannot open " + segment.logPath + ": " + e, e);
        }
        keepOpen(segment);
    }

    private void keepOpen(Segment segment) {
        openClosedSegments.put(segment, Boolean.TRUE);
        Iterator<Segment> eldest = openClosedSegments.keySet().iterator();
        while (openClosedSegments.size() > MAX_OPEN_CLOSED_SEGMENTS) {
            eldest.next().closeFiles();
            eldest.remove();
        }
    }

    /** Rebuilds a closed segment's index by walking and checking all its entries, and writes it. */
    private void rebuildIndex(Segment segment) throws IOException {
        LOG.warn("Rebuilding index {}: it does not match {}", segment.indexPath, segment.logPath);
        OffsetIndex index = OffsetIndex.empty(segment.indexPath, config.indexIntervalBytes());
        long position = 0;
        long expected = segment.baseSequence;
        while (position < segment.size) {
            EntryFormat.Header header = readHeader(segment, position, expected, expected);
            String defect = EntryFormat.payloadDefect(reader.read(segment.channel, position,
                    (int) header.entryBytes()), 0, header);
            if (defect != null) {
                throw corrupt(segment, position, defect);
            }
            index.maybeAdd(expected, position);
            position += header.entryBytes();
            expected = header.nextSequence();
        }
        if (segment == active()) {
            segment.index.close();
            segment.index = index;
            index.startAppending();
        } else {
            segment.index = index;
            index.persist();
        }
        options.modes().file(segment.indexPath);
    }

    // ---------------------------------------------------------------- lifecycle

    /** Closes all files. Does not sync: call {@link #sync()} first for a durable shutdown. */
    @Override
    public void close() {
        useLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            syncLock.lock();
            try {
                syncChannel = null;
                syncClosed = true;
                unsyncedSegments.clear();
                syncMark();
                closeMarkChannel();
            } finally {
                syncLock.unlock();
            }
            for (Segment s : segments) {
                s.closeFiles();
            }
            openClosedSegments.clear();
            cache.clear();
            lastDiskEntry = null;
            hintSegment = null;
        } finally {
            useLock.unlock();
        }
        options.budget().closed(this);
    }

    // ---------------------------------------------------------------- open files

    /** Takes the use lock and reopens the files the budget closed. */
    private void enter() {
        useLock.lock();
        if (filesClosed && !closed) {
            try {
                Segment active = active();
                active.channel = FileChannel.open(active.logPath, StandardOpenOption.READ, StandardOpenOption.WRITE);
                active.index.startAppending();
                syncLock.lock();
                try {
                    syncChannel = active.channel;
                } finally {
                    syncLock.unlock();
                }
                filesClosed = false;
            } catch (IOException | RuntimeException e) {
                // stay closed (the index entries stay in memory): the next use tries again
                Segment active = active();
                if (active.channel != null) {
                    try {
                        active.channel.close();
                    } catch (IOException ignored) {
                        // reopening failed anyway
                    }
                    active.channel = null;
                }
                active.index.close();
                useLock.unlock();
                throw new StorageException("cannot reopen " + active.logPath + ": " + e, e);
            }
        }
    }

    /** Tells the budget now and then (and whenever the count changed) how many files are open; releases the use lock. */
    private void leave() {
        try {
            if (!closed && (++usesUnreported >= 64 || openFileCount() != reportedFiles)) {
                reportFiles();
            }
        } finally {
            useLock.unlock();
        }
    }

    private void reportFiles() {
        usesUnreported = 0;
        reportedFiles = openFileCount();
        options.budget().used(this, reportedFiles);
    }

    /** Files this log holds open now: the active segment and its index, closed segments kept for reads, the mark. */
    int openFileCount() {
        Segment active = active();
        int n = (active.channel != null ? 1 : 0) + (active.index != null && active.index.isOpen() ? 1 : 0);
        for (Segment s : openClosedSegments.keySet()) {
            n += s.channel != null ? 1 : 0;
        }
        return n + (markChannel != null ? 1 : 0);
    }

    /**
     * Closes every file of this log if no thread uses it at the moment (the open-file budget calls
     * this for the least recently used logs); they are reopened when next used. Unsynced appends
     * stay in the page cache and the next sync covers them through a new descriptor.
     */
    @Override
    public boolean tryCloseFiles() {
        if (!useLock.tryLock()) {
            return false;
        }
        try {
            if (closed) {
                return true;
            }
            if (!syncLock.tryLock()) {
                return false;
            }
            try {
                syncChannel = null;
                closeMarkChannel(); // a mark written and not fsynced stays in the page cache
            } finally {
                syncLock.unlock();
            }
            Segment active = active();
            if (active.channel != null) {
                try {
                    active.channel.close();
                } catch (IOException e) {
                    LOG.warn("Closing {} failed: {}", active.logPath, e.toString());
                }
                active.channel = null;
            }
            if (active.index != null) {
                active.index.close(); // entries stay in memory
            }
            for (Segment s : openClosedSegments.keySet()) {
                s.closeFiles();
            }
            openClosedSegments.clear();
            reader.invalidate();
            filesClosed = true;
            reportedFiles = 0;
            return true;
        } finally {
            useLock.unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new StorageException("stream log " + config.directory() + " is closed");
        }
    }

    private void checkWritable() {
        checkOpen();
        checkNotFailed();
    }

    private void checkNotFailed() {
        StorageException f = failure;
        if (f != null) {
            throw new StorageException("stream log " + config.directory() + " failed earlier: " + f.getMessage(), f);
        }
    }

    @Override
    public String toString() {
        return "SegmentedFileLog[" + config.directory() + ", " + segments.size() + " segments, sequences "
                + firstSequence() + ".." + (nextSequence - 1) + "]";
    }
}
