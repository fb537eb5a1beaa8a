package dev.wirebus.server.internal.storage;

import java.nio.file.Path;

/**
 * What a {@link SegmentedFileLog} shares with the rest of its store, beyond its own
 * {@link StoreConfig}: the budget of open files, the permissions of what it creates, where
 * recovery moves damaged bytes, and whether each append raises the visible mark (when appends are
 * visible at once, without a sync: durability {@code never}).
 *
 * <p>Immutable, thread-safe.
 *
 * @param budget bounds the open files of all logs sharing it
 * @param modes permissions of created files and directories
 * @param quarantine directory receiving damaged bytes cut off by recovery and segments dropped
 *     after such a cut; null for {@code quarantine/} inside the stream's directory
 * @param markEveryAppend write the visible mark at every append, not only at every sync
 */
public record LogOptions(OpenFileBudget budget, FileModes modes, Path quarantine, boolean markEveryAppend) {
    /** No budget, no permission changes, quarantine inside the stream's directory, mark at syncs. */
    public static final LogOptions DEFAULTS = new LogOptions(OpenFileBudget.unlimited(), FileModes.NONE, null, false);
}
