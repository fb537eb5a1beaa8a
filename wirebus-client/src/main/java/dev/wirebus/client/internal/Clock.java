package dev.wirebus.client.internal;

/**
 * Where the client reads the time for deadlines: {@link #SYSTEM} in production, a clock moved by
 * hand in tests, so a test makes a deadline pass by advancing time, never by sleeping. Only
 * {@link CallTable} reads it; the connection's sweep ticker merely says when to look.
 */
@FunctionalInterface
interface Clock {
    /** Monotonic nanoseconds, as {@link System#nanoTime()}. */
    long nanoTime();

    Clock SYSTEM = System::nanoTime;
}
