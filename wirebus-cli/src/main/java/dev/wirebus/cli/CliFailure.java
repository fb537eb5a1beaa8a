package dev.wirebus.cli;

/**
 * An expected failure of a command: the message is printed as one line on stderr, prefixed with
 * {@code wirebus: }, and the process exits with {@link #exitCode()}. No stack trace.
 *
 * <pre>{@code
 * throw new CliFailure("message 3 was not published: " + reason);
 * }</pre>
 */
final class CliFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Exit code of a failed operation (refused, timed out, unreachable broker). */
    static final int FAILED = 1;
    /** Exit code of a command stopped because stdout was closed (like a process killed by SIGPIPE). */
    static final int STDOUT_CLOSED = 141;

    private final int exitCode;

    CliFailure(String message) {
        this(message, FAILED);
    }

    CliFailure(String message, int exitCode) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    int exitCode() {
        return exitCode;
    }
}
