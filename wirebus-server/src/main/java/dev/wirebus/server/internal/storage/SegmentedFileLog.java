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
public final class SegmentedFileLog implements DurableStreamLog {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentedFileLog.class);
    /** Closed segments whose channel and index are kept open for reads, least recently used first out. */
    private static final int MAX_OPEN_CLOSED_SEGMENTS = 8;

    private final StoreConfig config;
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

    /** Held for the whole of a sync; guards the three fields below. */
    private final ReentrantLock syncLock = new ReentrantLock();
    /** The active segment's channel, null once closed. */
    private FileChannel syncChannel;
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

    private SegmentedFileLog(StoreConfig config, Clock clock, EntryReader reader, List<Segment> segments) {
        this.config = config;
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
        Path dir = config.directory();
        try {
            boolean created = !Files.isDirectory(dir);
            Files.createDirectories(dir);
            if (created && dir.toAbsolutePath().getParent() != null) {
                syncDirectory(dir.toAbsolutePath().getParent());
            }
            EntryReader reader = new EntryReader();
            List<Segment> segments = new SegmentRecovery(dir, config.indexIntervalBytes(), reader).recover();
            SegmentedFileLog log = new SegmentedFileLog(config, clock, reader, segments);
            try {
                log.start();
            } catch (IOException | RuntimeException e) {
                log.close();
                throw e;
            }
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
            segment.index = OffsetIndex.empty(segment.indexPath, config.indexIntervalBytes());
            segment.index.startAppending();
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
        ProducerTable table = producerId == null ? null : producers();
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
        enforceRetention();
        return first;
    }

    // ---------------------------------------------------------------- producers

    private static final int SNAPSHOT_MAGIC = 0x57425053; // "WBPS"

    @Override
    public ProducerTable producers() {
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
            if (syncChannel == null) {
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
                syncChannel.force(false);
                if (directoryDirty) {
                    syncDirectory(config.directory());
                    directoryDirty = false;
                }
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
    }

    // ---------------------------------------------------------------- lifecycle

    /** Closes all files. Does not sync: call {@link #sync()} first for a durable shutdown. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        syncLock.lock();
        try {
            syncChannel = null;
            unsyncedSegments.clear();
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
