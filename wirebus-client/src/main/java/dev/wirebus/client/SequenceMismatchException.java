package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;

import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * A publish with an expected sequence was refused because the stream's last sequence + 1 is not
 * that sequence. {@link #lastSequence()} tells where the stream is, so a producer that resumes after
 * a reconnect knows which of its messages were already appended. A version 2 broker sends it as a
 * typed field; from a version 1 broker it is read from the message.
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
        this(message, ErrorFields.NONE);
    }

    /** With the typed fields of a version 2 ERROR. */
    public SequenceMismatchException(String message, ErrorFields fields) {
        super(ErrorCode.SEQUENCE_MISMATCH, message, fields);
        OptionalLong v = fields().lastSequence();
        if (v.isEmpty()) {
            v = number(LAST, message);
        }
        this.lastSequence = v.orElse(-1);
    }

    /** The stream's last sequence when the publish was refused (-1 if the broker did not say). */
    public long lastSequence() {
        return lastSequence;
    }
}
