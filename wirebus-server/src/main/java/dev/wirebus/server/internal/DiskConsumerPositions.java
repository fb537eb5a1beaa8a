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
 * <p>Thread-safe: {@link #save} is called under streams' locks and only records the change.
 */
final class DiskConsumerPositions implements ConsumerPositions, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DiskConsumerPositions.class);

    private final Path directory;
    private final boolean fsync;
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
        this.directory = directory;
        this.fsync = fsync;
        this.intervalNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(1), interval.toNanos());
        Files.createDirectories(directory);
        this.thread = new Thread(this::run, "wirebus-positions");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public Map<String, Saved> load(String stream) throws IOException {
        Path file = directory.resolve(stream + ".pos");
        Map<String, Saved> saved = new LinkedHashMap<>();
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String[] f = line.trim().split(" ");
                if (f.length != 3) {
                    continue;
                }
                try {
                    saved.put(f[0], new Saved(Long.parseLong(f[1]), Integer.parseInt(f[2])));
                } catch (NumberFormatException e) {
                    throw new IOException(file + " has a bad line: '" + line + "'");
                }
            }
        }
        synchronized (lock) {
            current.put(stream, new LinkedHashMap<>(saved));
        }
        return saved;
    }

    @Override
    public void save(String stream, String consumer, long acked, int maxLag, Runnable onStored) {
        synchronized (lock) {
            current.computeIfAbsent(stream, s -> new LinkedHashMap<>()).put(consumer, new Saved(acked, maxLag));
            dirty.computeIfAbsent(stream, s -> new ArrayList<>()).add(onStored);
            lock.notifyAll();
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
                    snapshot.put(stream, new LinkedHashMap<>(current.get(stream)));
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
        StringBuilder b = new StringBuilder();
        consumers.forEach((name, s) -> b.append(name).append(' ').append(s.acked()).append(' ')
                .append(s.maxLag()).append('\n'));
        Path tmp = directory.resolve(stream + ".pos.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(b.toString().getBytes(StandardCharsets.UTF_8));
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            if (fsync) {
                ch.force(false);
            }
        }
        Files.move(tmp, directory.resolve(stream + ".pos"), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
        if (fsync) {
            try (FileChannel d = FileChannel.open(directory, StandardOpenOption.READ)) {
                d.force(true);
            }
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
