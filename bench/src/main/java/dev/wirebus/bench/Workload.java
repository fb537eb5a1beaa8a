package dev.wirebus.bench;

import java.time.Duration;

/**
 * A benchmark connected to one broker over one transport. Set up by its constructor; load (if any)
 * runs from then until {@link #close}; {@link #measure} measures one window and may be called
 * repeatedly (warm-up, then the runs).
 */
interface Workload extends AutoCloseable {
    /** Measures for {@code window}; fails with a {@link BenchException} when a deadline passes. */
    Sample measure(Duration window) throws Exception;

    /** Stops load and closes connections, within the benchmark's deadlines. */
    @Override
    void close();

    /** Opens a workload against {@code address}. */
    @FunctionalInterface
    interface Factory {
        Workload open(String address) throws Exception;
    }
}
