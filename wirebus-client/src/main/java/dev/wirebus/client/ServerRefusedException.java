package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The broker understood the request and refused it; {@link #errorCode()} says why (for example
 * {@link ErrorCode#NO_RESPONDERS}, {@link ErrorCode#SEQUENCE_NOT_RETAINED},
 * {@link ErrorCode#RESPONDER_GONE}, {@link ErrorCode#SHUTTING_DOWN}).
 *
 * <p>The numbers a client acts on come as typed fields from a broker that speaks protocol
 * version 2 ({@link #fields()}): {@link #firstRetainedSequence()} with SEQUENCE_NOT_RETAINED,
 * {@link #retryAfter()} with BACKPRESSURE, {@link #lastProducerSequence()} with PRODUCER_SEQUENCE
 * (and {@link SequenceMismatchException#lastSequence()}). From a version 1 broker the accessors fall
 * back to the number its message states, where it states one.
 *
 * <pre>{@code
 * catch (ServerRefusedException e) { if (e.errorCode() == ErrorCode.NO_RESPONDERS) retryLater(); }
 * }</pre>
 */
public class ServerRefusedException extends WirebusException {
    private static final long serialVersionUID = 1L;
    private static final Pattern FIRST_RETAINED = Pattern.compile("retains sequences from (\\d+)");
    private static final Pattern LAST_PRODUCER = Pattern.compile(
            "(?:batches remembered \\(from \\d+ to (\\d+)\\))|(?:below the last one, (\\d+))");

    private final transient ErrorFields fields;

    public ServerRefusedException(ErrorCode code, String message) {
        this(code, message, ErrorFields.NONE);
    }

    /** With the typed fields of a version 2 ERROR ({@link ErrorFields#NONE} from a version 1 broker). */
    public ServerRefusedException(ErrorCode code, String message, ErrorFields fields) {
        super(code, message);
        this.fields = fields == null ? ErrorFields.NONE : fields;
    }

    /** The typed fields the broker sent (none from a version 1 broker). */
    public ErrorFields fields() {
        return fields == null ? ErrorFields.NONE : fields;
    }

    /**
     * With {@link ErrorCode#SEQUENCE_NOT_RETAINED}: the stream's first retained sequence, from the
     * error's field, else from the message of a version 1 broker; empty when neither says.
     */
    public OptionalLong firstRetainedSequence() {
        OptionalLong v = fields().firstRetainedSequence();
        if (v.isPresent() || errorCode() != ErrorCode.SEQUENCE_NOT_RETAINED) {
            return v;
        }
        return number(FIRST_RETAINED, getMessage());
    }

    /** With {@link ErrorCode#BACKPRESSURE}: how long the broker suggests waiting before a retry, if it said. */
    public Optional<Duration> retryAfter() {
        OptionalLong v = fields().retryAfterMillis();
        return v.isPresent() ? Optional.of(Duration.ofMillis(v.getAsLong())) : Optional.empty();
    }

    /**
     * With {@link ErrorCode#PRODUCER_SEQUENCE}: the producer's last appended producer sequence on
     * the stream, from the error's field, else from the message of a version 1 broker.
     */
    public OptionalLong lastProducerSequence() {
        OptionalLong v = fields().lastProducerSequence();
        if (v.isPresent() || errorCode() != ErrorCode.PRODUCER_SEQUENCE) {
            return v;
        }
        return number(LAST_PRODUCER, getMessage());
    }

    static OptionalLong number(Pattern p, String message) {
        if (message == null) {
            return OptionalLong.empty();
        }
        Matcher m = p.matcher(message);
        if (!m.find()) {
            return OptionalLong.empty();
        }
        for (int g = 1; g <= m.groupCount(); g++) {
            if (m.group(g) != null) {
                try {
                    return OptionalLong.of(Long.parseLong(m.group(g)));
                } catch (NumberFormatException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }
}
