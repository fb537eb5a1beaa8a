package dev.wirebus.bench;

/** A benchmark that cannot go on: a deadline passed, a broker refused, a subscriber fell behind. */
final class BenchException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BenchException(String message) {
        super(message);
    }

    BenchException(String message, Throwable cause) {
        super(message, cause);
    }
}
