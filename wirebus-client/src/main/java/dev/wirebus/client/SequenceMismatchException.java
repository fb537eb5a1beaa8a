package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A publish with an expected sequence was refused because the stream's last sequence + 1 is not
 * that sequence. {@link #lastSequence()} tells where the stream is, so a producer that resumes after
 * a reconnect knows which of its messages were already appended.
 *
 * <pre>{@code
 * try { client.publish("blocks", block, index).join(); }
 * catch (CompletionException e) {
 *     if (e.getCause() instanceof SequenceMismatchException m && m.lastSequence() >= index) { skip(); }
 * }
 * }</pre>
 */
public class SequenceMismatchException extends ServerRefusedException {
    private static final long serialVersionUID = 1L;
    private static final Pattern LAST = Pattern.compile("last sequence (\\d+)");

    private final long lastSequence;

    public SequenceMismatchException(String message) {
        super(ErrorCode.SEQUENCE_MISMATCH, message);
        Matcher m = LAST.matcher(message);
        this.lastSequence = m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The stream's last sequence when the publish was refused (-1 if the broker did not say). */
    public long lastSequence() {
        return lastSequence;
    }
}
