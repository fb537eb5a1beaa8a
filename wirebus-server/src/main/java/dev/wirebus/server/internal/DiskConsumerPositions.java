package dev.wirebus.server.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Consumer positions in one small file per stream under {@code consumers/}, rewritten whole
 * (temporary file, fsync, rename, directory fsync) by one background thread at most every
 * {@code interval}; acknowledgements that asked for confirmation are confirmed after the write that
 * covers them. A crash loses no confirmed position; an unconfirmed one may come back older, and
 * the consumer then sees those messages again.
 *
 * <p>File format (text, version 2): a line {@code wirebus-positions 2}, one line per consumer
 * {@code NAME ACKED MAXLAG CRC} (CRC32C of {@code NAME ACKED MAXLAG}, 8 hex digits), and a last line
 * {@code end COUNT CRC} (CRC32C of every byte before it). Before a sound file is replaced it is kept
 * as {@code <stream>.pos.prev}. Loading never fails and never drops a consumer silently: a damaged
 * file (empty, truncated, a bad checksum, garbage) is named with its damage in an ERROR line and
 * copied aside ({@code .damaged-<time>}); every record that is still sound is used, and every
 * consumer it lacks is taken from the previous file (a WARN line each: that consumer may see
 * messages again). Version 1 files (lines {@code NAME ACKED MAXLAG}, no checksums) are still read.
 *
 * <p>Thread-safe: {@link #save} is called under streams' locks and only records the change.
 */
final class DiskConsumerPositions implements ConsumerPositions, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DiskConsumerPositions.class);

    private static final String HEADER = "wirebus-positions 2";

    private final Path directory;
    private final dev.wirebus.server.internal.storage.FileModes modes;
    private final boolean fsync;
    /** Guarded by lock: streams whose current file is sound (so a rewrite keeps it as .prev). */
    private final java.util.Set<String> soundFiles = new java.util.HashSet<>();
    private final java.util.concurrent.atomic.AtomicLong damagedFiles = new java.util.concurrent.atomic.AtomicLong();
    private final long intervalNanos;
    private final Object lock = new Object();
    /** Guarded by lock: every stream's consumers as last saved. */
    private final Map<String, Map<String, Saved>> current = new HashMap<>();
    /** Guarded by lock: streams changed since their last write, with the confirmations waiting for it. */
    private Map<String, List<Runnable>> dirty = new LinkedHashMap<>();
    private boolean closed;
    /** Position-writer thread only: rounds whose write failed (closing gives up after a few). */
    private int failedRounds;
    private final Thread thread;

    DiskConsumerPositions(Path directory, boolean fsync, java.time.Duration interval) throws IOException {
        this(directory, dev.wirebus.server.internal.storage.FileModes.NONE, fsync, interval);
    }

    DiskConsumerPositions(Path directory, dev.wirebus.server.internal.storage.FileModes modes, boolean fsync,
                          java.time.Duration interval) throws IOException {
        this.directory = directory;
        this.modes = modes;
        this.fsync = fsync;
        this.intervalNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1), interval.toNanos());
        modes.createDirectories(directory);
        modes.directory(directory);
        this.thread = new Thread(this::run, "wirebus-positions");
        thread.setDaemon(true);
        thread.start();
    }

    /** Damaged position files found so far. */
    long damagedFiles() {
        return damagedFiles.get();
    }

    /** A parsed position file: its sound records and what is wrong with it (empty when nothing). */
    private record Parsed(Map<String, Saved> records, List<String> defects) {
    }

    @Override
    public Map<String, Saved> load(String stream) {
        Path file = directory.resolve(stream + ".pos");
        Path prev = directory.resolve(stream + ".pos.prev");
        Parsed cur = parse(file);
        try {
            if (Files.exists(file)) {
                modes.file(file);
            }
        } catch (IOException e) {
            log.warn("Could not set the mode of {}: {}", file, e.toString());
        }
        Map<String, Saved> saved = new LinkedHashMap<>(cur.records());
        boolean sound = cur.defects().isEmpty();
        if (!sound) {
            damagedFiles.incrementAndGet();
            Path copy = keepDamaged(file);
            log.error("Consumer positions file {} is damaged: {}; {} sound record(s) used{}, the rest taken from {}",
                    file, String.join("; ", cur.defects()), cur.records().size(),
                    copy == null ? "" : ", the damaged file copied to " + copy, prev);
            Parsed previous = parse(prev);
            if (!previous.defects().isEmpty() && Files.exists(prev)) {
                log.error("Previous consumer positions file {} is damaged too: {}", prev,
                        String.join("; ", previous.defects()));
            }
            previous.records().forEach((name, p) -> {
                if (!saved.containsKey(name)) {
                    saved.put(name, p);
                    log.warn("Consumer '{}' of stream '{}' restored from {} at acknowledged sequence {}: it may see "
                            + "messages after that again", name, stream, prev, p.acked());
                }
            });
        }
        synchronized (lock) {
            current.put(stream, new LinkedHashMap<>(saved));
            if (sound) {
                soundFiles.add(stream);
            } else {
                soundFiles.remove(stream);
                if (!saved.isEmpty()) {
                    dirty.computeIfAbsent(stream, s -> new ArrayList<>()); // write a sound file soon
                    lock.notifyAll();
                }
            }
        }
        return saved;
    }

    /** Reads a position file, keeping its sound records and naming each defect. */
    private static Parsed parse(Path file) {
        Map<String, Saved> records = new LinkedHashMap<>();
        List<String> defects = new ArrayList<>();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (java.nio.file.NoSuchFileException e) {
            return new Parsed(records, defects);
        } catch (IOException e) {
            defects.add("cannot be read: " + e);
            return new Parsed(records, defects);
        }
        if (bytes.length == 0) {
            defects.add("empty (0 bytes)");
            return new Parsed(records, defects);
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        if (!lines[0].equals(HEADER)) {
            // version 1: NAME ACKED MAXLAG per line, no checksums
            if (record(lines[0].trim().split(" "), 3) == null) {
                defects.add("not a positions file: the first line is neither '" + HEADER + "' nor a version 1 "
                        + "record: '" + abbreviate(lines[0]) + "'");
            }
            for (int i = 0; i < lines.length; i++) {
                String line = lines[i].trim();
                if (line.isEmpty() && i == lines.length - 1) {
                    continue;
                }
                Saved s = line.isEmpty() ? null : record(line.split(" "), 3);
                if (s == null) {
                    defects.add("line " + (i + 1) + " is not 'NAME ACKED MAXLAG': '" + abbreviate(line) + "'");
                } else {
                    records.put(line.split(" ")[0], s);
                }
            }
            return new Parsed(records, defects);
        }
        int offset = lines[0].length() + 1;
        boolean ended = false;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty() && i == lines.length - 1) {
                break;
            }
            String[] f = line.split(" ");
            if (f.length == 3 && f[0].equals("end")) {
                java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                crc.update(bytes, 0, offset);
                if (!f[1].equals(Integer.toString(records.size() + countDefects(defects)))
                        || !f[2].equals(hex(crc))) {
                    defects.add("end line " + (i + 1) + " does not match the " + records.size() + " records before it");
                }
                ended = true;
                break;
            }
            Saved s = f.length == 4 ? record(f, 4) : null;
            if (s == null || !f[3].equals(hex(crc(f[0] + " " + f[1] + " " + f[2])))) {
                defects.add("line " + (i + 1) + (s == null ? " is malformed" : " fails its checksum") + ": '"
                        + abbreviate(line) + "'");
            } else {
                records.put(f[0], s);
            }
            offset += line.getBytes(StandardCharsets.UTF_8).length + 1;
        }
        if (!ended) {
            defects.add("truncated: no end line after " + records.size() + " record(s) (" + bytes.length + " bytes)");
        }
        return new Parsed(records, defects);
    }

    private static int countDefects(List<String> defects) {
        int n = 0;
        for (String d : defects) {
            if (d.startsWith("line ")) {
                n++;
            }
        }
        return n;
    }

    private static Saved record(String[] f, int fields) {
        if (f.length != fields || f[0].isEmpty()) {
            return null;
        }
        try {
            long acked = Long.parseLong(f[1]);
            int maxLag = Integer.parseInt(f[2]);
            return acked < 0 || maxLag < 0 ? null : new Saved(acked, maxLag);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static java.util.zip.CRC32C crc(String s) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(s.getBytes(StandardCharsets.UTF_8));
        return crc;
    }

    private static String hex(java.util.zip.CRC32C crc) {
        return String.format("%08x", crc.getValue());
    }

    private static String abbreviate(String line) {
        String printable = line.replaceAll("[^\\x20-\\x7e]", "?");
        return printable.length() > 60 ? printable.substring(0, 60) + "..." : printable;
    }

    /** Copies a damaged file aside for inspection; null when that fails too. */
    private Path keepDamaged(Path file) {
        if (!Files.exists(file)) {
            return null;
        }
        Path copy = file.resolveSibling(file.getFileName() + ".damaged-" + System.currentTimeMillis());
        try {
            Files.copy(file, copy);
            modes.file(copy);
            return copy;
        } catch (IOException e) {
            log.warn("Could not copy damaged {} aside: {}", file, e.toString());
            return null;
        }
    }

    @Override
    public void save(String stream, String consumer, long acked, int maxLag, Runnable onStored) {
        synchronized (lock) {
            current.computeIfAbsent(stream, s -> new LinkedHashMap<>()).put(consumer, new Saved(acked, maxLag));
            dirty.computeIfAbsent(stream, s -> new ArrayList<>()).add(onStored);
            lock.notifyAll();
        }
    }

    @Override
    public void delete(String stream, String consumer) {
        synchronized (lock) {
            Map<String, Saved> m = current.get(stream);
            if (m != null && m.remove(consumer) != null) {
                // the stream's file is written again without it
                dirty.computeIfAbsent(stream, s -> new ArrayList<>());
                lock.notifyAll();
            }
        }
    }

    @Override
    public void deleteStream(String stream) throws IOException {
        List<Runnable> confirmations;
        synchronized (lock) {
            current.remove(stream);
            confirmations = dirty.remove(stream);
            soundFiles.remove(stream);
            // under the lock: a write of this stream finishing meanwhile removes its file itself (see write)
            Files.deleteIfExists(directory.resolve(stream + ".pos"));
            Files.deleteIfExists(directory.resolve(stream + ".pos.prev"));
            Files.deleteIfExists(directory.resolve(stream + ".pos.tmp"));
        }
        if (fsync) {
            try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
                d.force(true);
            }
        }
        if (confirmations != null) {
            // the positions they waited for are gone with their stream: nothing is left to wait for
            confirmations.forEach(Runnable::run);
        }
    }

    private void run() {
        while (true) {
            Map<String, List<Runnable>> batch;
            Map<String, Map<String, Saved>> snapshot = new HashMap<>();
            synchronized (lock) {
                while (dirty.isEmpty() && !closed) {
                    try {
                        lock.wait(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (dirty.isEmpty() || (closed && failedRounds > 3)) {
                    return;
                }
                batch = dirty;
                dirty = new LinkedHashMap<>();
                for (String stream : batch.keySet()) {
                    snapshot.put(stream, new LinkedHashMap<>(current.getOrDefault(stream, Map.of())));
                }
            }
            for (Map.Entry<String, List<Runnable>> e : batch.entrySet()) {
                try {
                    write(e.getKey(), snapshot.get(e.getKey()));
                } catch (IOException ex) {
                    log.error("could not store consumer positions of stream '{}'; retrying", e.getKey(), ex);
                    failedRounds++;
                    synchronized (lock) {
                        // not stored: keep the confirmations waiting and write the stream again next round
                        dirty.computeIfAbsent(e.getKey(), s -> new ArrayList<>()).addAll(e.getValue());
                    }
                    continue;
                }
                for (Runnable confirmation : e.getValue()) {
                    try {
                        confirmation.run();
                    } catch (RuntimeException ex) {
                        log.warn("a confirmation of stream '{}' failed", e.getKey(), ex);
                    }
                }
            }
            long due = System.nanoTime() + intervalNanos;
            synchronized (lock) {
                // coalesce: let acknowledgements gather for one interval before the next write
                long left;
                while (!closed && (left = due - System.nanoTime()) > 0) {
                    try {
                        TimeUnit.NANOSECONDS.timedWait(lock, left);
                    } catch (InterruptedException ex) {
                        return;
                    }
                }
            }
        }
    }

    private void write(String stream, Map<String, Saved> consumers) throws IOException {
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        consumers.forEach((name, s) -> {
            String rec = name + " " + s.acked() + " " + s.maxLag();
            b.append(rec).append(' ').append(hex(crc(rec))).append('\n');
        });
        byte[] body = b.toString().getBytes(StandardCharsets.UTF_8);
        java.util.zip.CRC32C all = new java.util.zip.CRC32C();
        all.update(body);
        byte[] end = ("end " + consumers.size() + " " + hex(all) + "\n").getBytes(StandardCharsets.UTF_8);
        Path tmp = directory.resolve(stream + ".pos.tmp");
        Path file = directory.resolve(stream + ".pos");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            modes.file(tmp);
            ByteBuffer buf = ByteBuffer.allocate(body.length + end.length).put(body).put(end).flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            if (fsync) {
                ch.force(false);
            }
        }
        boolean keepPrevious;
        synchronized (lock) {
            keepPrevious = soundFiles.contains(stream);
        }
        if (keepPrevious && Files.exists(file)) {
            // the last sound file becomes the previous one; a damaged current file is never kept as previous
            Files.move(file, directory.resolve(stream + ".pos.prev"), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (fsync) {
            try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
                d.force(true);
            }
        }
        synchronized (lock) {
            if (!current.containsKey(stream)) {
                // the stream was deleted while this snapshot was written: its positions must not come back
                Files.deleteIfExists(file);
                Files.deleteIfExists(directory.resolve(stream + ".pos.prev"));
                return;
            }
            soundFiles.add(stream);
        }
    }

    /** Writes what is pending and stops the thread. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
