package dev.wirebus.server.internal;

import dev.wirebus.server.BrokerConfig;
import dev.wirebus.server.internal.storage.FileModes;
import dev.wirebus.server.internal.storage.GroupCommitter;
import dev.wirebus.server.internal.storage.LogOptions;
import dev.wirebus.server.internal.storage.OpenFileBudget;
import dev.wirebus.server.internal.storage.SegmentedFileLog;
import dev.wirebus.server.internal.storage.StoreConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Streams as segment files under a data directory: {@code streams/<name>/} per stream, a
 * {@code store.id} that stays the same across restarts (so clients resume their subscriptions),
 * and a lock file that keeps a second broker out of the same directory.
 */
public final class DiskStorage implements StreamStorage, StorageHealth {
    private static final Logger LOG = LoggerFactory.getLogger(DiskStorage.class);
    private static final long TAIL_CACHE_BYTES = 1024 * 1024;

    private final BrokerConfig config;
    private final Path streamsDirectory;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final FileModes modes;
    private final OpenFileBudget budget;
    /** Changes (once per start, before clients connect) when recovery cut below what was visible. */
    private volatile long storeId;
    private final java.util.Set<String> cutStreams = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.atomic.AtomicLong quarantinedFiles = new java.util.concurrent.atomic.AtomicLong();
    private volatile long epochChanges;
    private final GroupCommitter alwaysCommitter;
    private final GroupCommitter batchCommitter;
    private final DiskConsumerPositions positions;

    private DiskStorage(BrokerConfig config, FileChannel lockChannel, FileLock lock, long storeId) throws IOException {
        this.config = config;
        this.streamsDirectory = config.dataDirectory().resolve("streams");
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.storeId = storeId;
        this.modes = modes(config);
        this.budget = new OpenFileBudget(config.maxOpenFiles());
        boolean always = config.durability() == BrokerConfig.Durability.ALWAYS || config.streams().values().stream()
                .anyMatch(st -> st.durability() == BrokerConfig.Durability.ALWAYS);
        boolean batch = config.durability() == BrokerConfig.Durability.BATCH || config.streams().values().stream()
                .anyMatch(st -> st.durability() == BrokerConfig.Durability.BATCH);
        this.alwaysCommitter = always
                ? new GroupCommitter("wirebus-fsync", java.time.Duration.ZERO, config.syncBytes(), 1_000_000) : null;
        this.batchCommitter = batch
                ? new GroupCommitter("wirebus-fsync-batch", config.syncInterval(), config.syncBytes(), 1_000_000) : null;
        this.positions = new DiskConsumerPositions(config.dataDirectory().resolve("consumers"), modes,
                config.durability() != BrokerConfig.Durability.NEVER,
                config.syncInterval().compareTo(java.time.Duration.ofMillis(5)) < 0
                        ? java.time.Duration.ofMillis(5) : config.syncInterval());
    }

    /**
     * Opens the data directory, creating it if new.
     *
     * @throws IOException naming the directory when another broker uses it or it cannot be written
     */
    public static DiskStorage open(BrokerConfig config) throws IOException {
        Path dir = config.dataDirectory();
        FileModes modes = modes(config);
        modes.createDirectories(dir.resolve("streams"));
        FileChannel channel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            throw new IOException("data directory " + dir + " is in use by another broker; stop it or choose another --data");
        }
        try {
            // the data directory is the broker's own: its modes are set even when it existed before
            modes.directory(dir);
            modes.directory(dir.resolve("streams"));
            modes.file(dir.resolve(".lock"));
            clearDeleting(dir);
            return new DiskStorage(config, channel, lock, readOrCreateStoreId(dir, modes));
        } catch (IOException | RuntimeException e) {
            lock.release();
            channel.close();
            throw e;
        }
    }

    private static FileModes modes(BrokerConfig config) {
        return new FileModes(config.fileMode(), config.directoryMode());
    }

    private static long readOrCreateStoreId(Path dir, FileModes modes) throws IOException {
        Path file = dir.resolve("store.id");
        if (Files.exists(file)) {
            String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new IOException(file + " does not hold a store id: '" + text + "'");
            }
        }
        return writeStoreId(dir, modes, ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE));
    }

    /** Replaces {@code store.id} atomically and durably. */
    private static long writeStoreId(Path dir, FileModes modes, long id) throws IOException {
        Path file = dir.resolve("store.id");
        Path tmp = dir.resolve("store.id.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            modes.file(tmp);
            ch.write(java.nio.ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
        return id;
    }

    @Override
    public StreamLog open(String stream) {
        long age = config.retentionAge(stream) == null ? StoreConfig.UNLIMITED : config.retentionAge(stream).toMillis();
        StoreConfig store = StoreConfig.defaults(streamsDirectory.resolve(stream))
                .withSegmentBytes(config.segmentBytes())
                .withRetention(config.retentionMessages(stream), config.retentionBytes(stream), age)
                .withTailCacheBytes(TAIL_CACHE_BYTES);
        LogOptions options = new LogOptions(budget, modes, config.dataDirectory().resolve("quarantine").resolve(stream),
                config.durability(stream) == BrokerConfig.Durability.NEVER);
        SegmentedFileLog log = SegmentedFileLog.open(store, java.time.Clock.systemUTC(), options);
        SegmentedFileLog.Recovery r = log.recovery();
        quarantinedFiles.addAndGet(r.quarantined().size());
        if (r.cutBelowVisible()) {
            try {
                changeEpoch(stream, r);
            } catch (IOException e) {
                log.close();
                throw new dev.wirebus.server.internal.storage.StorageException("stream '" + stream + "' lost records "
                        + "that were visible, and the new store id could not be written: " + e, e);
            }
            log.acknowledgeCut();
        }
        return log;
    }

    /**
     * Recovery of {@code stream} cut records that had been visible: a client may have seen
     * sequences that the log would now hand out again for different messages. A new store id (once
     * per start, before any client connects) makes every client that resumes by sequence see
     * STORE_CHANGED instead of a silent mix of old and new messages.
     */
    private synchronized void changeEpoch(String stream, SegmentedFileLog.Recovery r) throws IOException {
        cutStreams.add(stream);
        String what = r.markBefore() >= 0
                ? "sequences " + (r.lastRecovered() + 1) + ".." + r.markBefore() + " had been visible to clients"
                : "its visible mark was damaged and recovery dropped " + r.droppedBytes() + " bytes";
        if (epochChanges == 0) {
            long old = storeId;
            long fresh;
            do {
                fresh = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
            } while (fresh == old);
            writeStoreId(config.dataDirectory(), modes, fresh);
            storeId = fresh;
            epochChanges = 1;
            LOG.error("STORE EPOCH CHANGED: store id {} -> {} because stream '{}' was recovered only up to sequence "
                    + "{} but {}; the damaged bytes are kept in {}. Clients resuming by sequence get STORE_CHANGED "
                    + "and must start over; new messages reuse the lost sequences.", old, fresh, stream,
                    r.lastRecovered(), what, r.quarantined());
        } else {
            LOG.error("STORE EPOCH CHANGED (already, store id {}): stream '{}' was also recovered only up to sequence "
                    + "{} but {}; the damaged bytes are kept in {}", storeId, stream, r.lastRecovered(), what,
                    r.quarantined());
        }
    }

    /**
     * Closes the log (its files leave the open-file budget), writes a new store id, renames
     * {@code streams/<name>} into {@code deleting/} (atomic: after a crash from here on the stream
     * does not come back), syncs the directories and deletes the moved tree. What the deletion leaves
     * in {@code deleting/} (a crash, an I/O error) is removed at the next start. The stream's
     * {@code quarantine/<name>} (damaged bytes recovery kept) is left alone.
     */
    @Override
    public void delete(String stream, StreamLog log) throws IOException {
        if (log instanceof SegmentedFileLog d) {
            d.close();
        }
        // the new epoch first: a crash after it and before the rename keeps the stream in a new epoch
        // (harmless), never the reverse (a recreated stream in the old epoch)
        changeEpochForDeletion(stream);
        Path dir = streamsDirectory.resolve(stream);
        Path deleting = config.dataDirectory().resolve("deleting");
        modes.createDirectories(deleting);
        Path aside = deleting.resolve(stream + "." + Long.toUnsignedString(System.nanoTime(), 36));
        if (Files.exists(dir)) {
            Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(streamsDirectory);
            syncDirectory(deleting);
            deleteTree(aside);
        }
    }

    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /** Deletes a directory tree; what cannot be deleted is logged and left (it is out of streams/). */
    private static void deleteTree(Path root) {
        try (java.util.stream.Stream<Path> walk = Files.walk(root)) {
            for (Path p : (Iterable<Path>) walk.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.warn("could not delete {} (a deleted stream's files; removed at the next start): {}", root,
                    e.toString());
        }
    }

    /** Removes what deletions left in {@code deleting/} (a crash or an I/O error during DELETE_STREAM). */
    private static void clearDeleting(Path dataDirectory) {
        Path deleting = dataDirectory.resolve("deleting");
        if (Files.isDirectory(deleting)) {
            try (DirectoryStream<Path> left = Files.newDirectoryStream(deleting)) {
                for (Path p : left) {
                    deleteTree(p);
                }
            } catch (IOException e) {
                LOG.warn("could not list {}: {}", deleting, e.toString());
            }
        }
    }

    /** A deleted stream may be created again from sequence 1: a new store id is a new epoch. */
    private synchronized void changeEpochForDeletion(String stream) throws IOException {
        long old = storeId;
        long fresh;
        do {
            fresh = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE);
        } while (fresh == old);
        writeStoreId(config.dataDirectory(), modes, fresh);
        storeId = fresh;
        LOG.info("stream '{}' deleted; store id {} -> {} (clients resuming by sequence get STORE_CHANGED)", stream,
                old, fresh);
    }

    @Override
    public boolean recoveredBelowVisible(String stream) {
        return cutStreams.contains(stream);
    }

    @Override
    public StorageHealth health() {
        return this;
    }

    @Override
    public long cutsBelowVisible() {
        return cutStreams.size();
    }

    @Override
    public long epochChanges() {
        return epochChanges;
    }

    @Override
    public long quarantinedFiles() {
        return quarantinedFiles.get();
    }

    @Override
    public long damagedPositionFiles() {
        return positions.damagedFiles();
    }

    @Override
    public long openFiles() {
        return budget.openFiles();
    }

    @Override
    public long filesClosedByBudget() {
        return budget.closedByBudget();
    }

    @Override
    public List<String> existing() throws IOException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(streamsDirectory, Files::isDirectory)) {
            for (Path d : dirs) {
                names.add(d.getFileName().toString());
            }
        }
        return names;
    }

    @Override
    public GroupCommitter committer(String stream) {
        return switch (config.durability(stream)) {
            case ALWAYS -> alwaysCommitter;
            case BATCH -> batchCommitter;
            case NEVER -> null;
        };
    }

    @Override
    public void observeSyncs(java.util.function.LongConsumer nanos) {
        if (alwaysCommitter != null) {
            alwaysCommitter.observeSyncs(nanos);
        }
        if (batchCommitter != null) {
            batchCommitter.observeSyncs(nanos);
        }
    }

    @Override
    public ConsumerPositions positions() {
        return positions;
    }

    @Override
    public long storeId() {
        return storeId;
    }

    @Override
    public String describe() {
        String policy = switch (config.durability()) {
            case ALWAYS -> "durability always";
            case BATCH -> "durability batch, fsync within " + config.syncInterval().toMillis() + " ms";
            case NEVER -> "durability never (page cache)";
        };
        return "disk " + config.dataDirectory() + " (" + policy + ")"
                + (config.streams().isEmpty() ? "" : ", " + config.streams().size() + " streams with their own settings");
    }

    private void closeCommitters() {
        if (alwaysCommitter != null) {
            alwaysCommitter.close();
        }
        if (batchCommitter != null) {
            batchCommitter.close();
        }
    }

    @Override
    public void settle() {
        closeCommitters();
        positions.close();
    }

    @Override
    public void close() {
        closeCommitters();
        positions.close();
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }
}
