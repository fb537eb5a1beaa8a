package dev.wirebus.bench;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/** Waits that always end: each has a deadline and says what it waited for when it passes. */
final class Waits {
    private Waits() {
    }

    /** The future's value, waiting by parking (or busy-polling when {@code spin}) up to {@code timeout}. */
    static <T> T await(CompletableFuture<T> f, Duration timeout, boolean spin, String what) {
        if (spin) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!f.isDone()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new BenchException("no " + what + " within " + timeout.toMillis() + " ms");
                }
                Thread.onSpinWait();
            }
        }
        try {
            return f.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new BenchException("no " + what + " within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            throw new BenchException(what + " failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted waiting for " + what);
        }
    }

    static <T> T await(CompletableFuture<T> f, Duration timeout, String what) {
        return await(f, timeout, false, what);
    }

    /** Joins a thread, failing after {@code timeout}. */
    static void join(Thread t, Duration timeout) {
        try {
            t.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            throw new BenchException("thread " + t.getName() + " did not stop within " + timeout.toMillis() + " ms");
        }
    }

    static void sleep(Duration d) {
        long end = System.nanoTime() + d.toNanos();
        long left;
        while ((left = end - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
            if (Thread.interrupted()) {
                throw new BenchException("interrupted while sleeping");
            }
        }
    }
}
