package dev.wirebus.server.internal;

/**
 * What a store reports for its metrics: damage found at start and since, and open files.
 * Implementations answer from any thread.
 */
public interface StorageHealth {
    /** Reports nothing (memory storage). */
    StorageHealth NONE = new StorageHealth() {
    };

    /** Streams whose recovery cut records at or below what had been visible. */
    default long cutsBelowVisible() {
        return 0;
    }

    /** Times the store id changed because of such a cut (at most once per start). */
    default long epochChanges() {
        return 0;
    }

    /** Files recovery moved damaged or dropped bytes into. */
    default long quarantinedFiles() {
        return 0;
    }

    /** Damaged consumer-position files found (each naming file and damage in the log). */
    default long damagedPositionFiles() {
        return 0;
    }

    /** Stream files open now (segments, indexes, marks). */
    default long openFiles() {
        return 0;
    }

    /** Times a stream's files were closed to stay within the open-file budget. */
    default long filesClosedByBudget() {
        return 0;
    }
}
