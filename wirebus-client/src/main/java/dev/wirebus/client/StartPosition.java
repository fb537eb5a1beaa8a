package dev.wirebus.client;

/**
 * Where a subscription starts: the earliest retained message, only messages published after it
 * starts, or a given sequence.
 *
 * <pre>{@code
 * client.subscribe("chat.session-42", StartPosition.sequence(lastSeen + 1), handler);
 * }</pre>
 */
public final class StartPosition {
    private static final StartPosition EARLIEST = new StartPosition(Kind.EARLIEST, 0);
    private static final StartPosition LATEST = new StartPosition(Kind.LATEST, 0);

    /** The kinds of start position. */
    public enum Kind { EARLIEST, LATEST, SEQUENCE }

    private final Kind kind;
    private final long sequence;

    private StartPosition(Kind kind, long sequence) {
        this.kind = kind;
        this.sequence = sequence;
    }

    /** From the first message the stream retains. */
    public static StartPosition earliest() {
        return EARLIEST;
    }

    /** From the next message appended after the subscription is set up. */
    public static StartPosition latest() {
        return LATEST;
    }

    /** From sequence {@code n} (at least 1). */
    public static StartPosition sequence(long n) {
        if (n < 1) {
            throw new IllegalArgumentException("start sequence must be at least 1, was " + n);
        }
        return new StartPosition(Kind.SEQUENCE, n);
    }

    /**
     * Parses {@code earliest}, {@code latest} or a sequence number.
     *
     * @throws IllegalArgumentException naming the text when it is none of those
     */
    public static StartPosition parse(String text) {
        String t = text.trim();
        if (t.equalsIgnoreCase("earliest")) {
            return EARLIEST;
        }
        if (t.equalsIgnoreCase("latest")) {
            return LATEST;
        }
        try {
            return sequence(Long.parseLong(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("start position '" + text + "' is not earliest, latest or a sequence number");
        }
    }

    public Kind kind() {
        return kind;
    }

    /** The sequence for {@link Kind#SEQUENCE}, 0 otherwise. */
    public long sequence() {
        return sequence;
    }

    @Override
    public String toString() {
        return kind == Kind.SEQUENCE ? Long.toString(sequence) : kind.name().toLowerCase();
    }
}
