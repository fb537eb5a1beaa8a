package dev.wirebus.server.internal.storage;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A bound on the files that all stream logs of a store keep open, so that the number of streams
 * is not bounded by file descriptors: each log reports how many files it holds after each use;
 * while the total is over the budget, the least recently used other logs are asked to close theirs
 * (they reopen them when next used).
 *
 * <p>A log asked to close its files while another thread is inside it declines (it only ever
 * try-locks, so no lock order can deadlock) and the next least recently used one is asked. The
 * bound is therefore soft by at most the files of the logs in use at that moment, a few per
 * thread.
 *
 * <p>Thread-safe.
 */
public final class OpenFileBudget {
    /** Something holding open files that it can close on request. */
    public interface Holder {
        /**
         * Closes every file it holds if it can do so without waiting for a lock; returns false when
         * it is in use. Called under the budget's monitor: must not call the budget back.
         */
        boolean tryCloseFiles();
    }

    private final int maxOpenFiles;
    /** Guarded by this: open files per holder, least recently used first. */
    private final LinkedHashMap<Holder, Integer> holders = new LinkedHashMap<>(64, 0.75f, true);
    /** Guarded by this. */
    private long openFiles;
    /** Guarded by this. */
    private long closedByBudget;

    public OpenFileBudget(int maxOpenFiles) {
        if (maxOpenFiles < 1) {
            throw new IllegalArgumentException("maxOpenFiles must be at least 1, was " + maxOpenFiles);
        }
        this.maxOpenFiles = maxOpenFiles;
    }

    /** A budget that never closes anything. */
    public static OpenFileBudget unlimited() {
        return new OpenFileBudget(Integer.MAX_VALUE);
    }

    /**
     * Records that {@code holder} (just used) now holds {@code files} open files, then, while the
     * total is over the budget, closes the least recently used other holders' files.
     */
    public synchronized void used(Holder holder, int files) {
        Integer before = holders.put(holder, files);
        openFiles += files - (before == null ? 0 : before);
        if (files == 0) {
            holders.remove(holder);
        }
        if (openFiles <= maxOpenFiles) {
            return;
        }
        Iterator<Map.Entry<Holder, Integer>> lru = holders.entrySet().iterator();
        while (openFiles > maxOpenFiles && lru.hasNext()) {
            Map.Entry<Holder, Integer> e = lru.next();
            if (e.getKey() == holder) {
                continue;
            }
            // the holder closes under its own locks (try-locked) and does not call back
            if (e.getKey().tryCloseFiles()) {
                openFiles -= e.getValue();
                closedByBudget++;
                lru.remove();
            }
        }
    }

    /** Records that {@code holder} closed all its files (on its own: at close or by request). */
    public synchronized void closed(Holder holder) {
        Integer before = holders.remove(holder);
        if (before != null) {
            openFiles -= before;
        }
    }

    /** Files open now, as reported. */
    public synchronized long openFiles() {
        return openFiles;
    }

    /** How many times a log's files were closed to stay within the budget. */
    public synchronized long closedByBudget() {
        return closedByBudget;
    }

    public int maxOpenFiles() {
        return maxOpenFiles;
    }
}
