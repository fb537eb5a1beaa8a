package dev.wirebus.protocol;

import java.util.Arrays;
import java.util.OptionalLong;

/**
 * The typed fields of an ERROR or SUBSCRIPTION_CLOSED frame in protocol version 2: numbers a client
 * acts on, which version 1 states only in the message text. Each is a u63 value under a one-byte key
 * ({@code docs/protocol.md} §5, ERROR). Immutable; {@link #NONE} has none. Keys this version does not
 * know are dropped when decoding (receivers ignore them).
 *
 * <pre>{@code
 * ErrorFields f = ErrorFields.NONE.with(ErrorFields.LAST_SEQUENCE, 41);
 * f.lastSequence(); // OptionalLong[41]
 * }</pre>
 */
public final class ErrorFields {
    /** The stream's last sequence, with SEQUENCE_MISMATCH. */
    public static final int LAST_SEQUENCE = 1;
    /** The stream's first retained sequence, with SEQUENCE_NOT_RETAINED. */
    public static final int FIRST_RETAINED_SEQUENCE = 2;
    /** Milliseconds after which a retry may succeed, with BACKPRESSURE. */
    public static final int RETRY_AFTER_MILLIS = 3;
    /** The producer's last appended producer sequence, with PRODUCER_SEQUENCE. */
    public static final int LAST_PRODUCER_SEQUENCE = 4;
    /** Highest key this implementation knows. */
    static final int MAX_KNOWN_KEY = 4;

    /** No fields. */
    public static final ErrorFields NONE = new ErrorFields(absent());

    private static final String[] NAMES = {null, "lastSequence", "firstRetainedSequence", "retryAfterMillis",
            "lastProducerSequence"};

    /** Index = key; -1 = absent. */
    private final long[] values;

    private ErrorFields(long[] values) {
        this.values = values;
    }

    private static long[] absent() {
        long[] v = new long[MAX_KNOWN_KEY + 1];
        Arrays.fill(v, -1);
        return v;
    }

    /** One field: {@code NONE.with(key, value)}. */
    public static ErrorFields of(int key, long value) {
        return NONE.with(key, value);
    }

    /** These fields plus (or with a new value for) {@code key}. */
    public ErrorFields with(int key, long value) {
        if (key < 1 || key > MAX_KNOWN_KEY) {
            throw new IllegalArgumentException("unknown error field key " + key);
        }
        if (value < 0) {
            throw new IllegalArgumentException("error field " + name(key) + " must be at least 0, was " + value);
        }
        long[] v = values.clone();
        v[key] = value;
        return new ErrorFields(v);
    }

    /** The value under {@code key}, if present. */
    public OptionalLong get(int key) {
        return key < 1 || key > MAX_KNOWN_KEY || values[key] < 0 ? OptionalLong.empty() : OptionalLong.of(values[key]);
    }

    public OptionalLong lastSequence() {
        return get(LAST_SEQUENCE);
    }

    public OptionalLong firstRetainedSequence() {
        return get(FIRST_RETAINED_SEQUENCE);
    }

    public OptionalLong retryAfterMillis() {
        return get(RETRY_AFTER_MILLIS);
    }

    public OptionalLong lastProducerSequence() {
        return get(LAST_PRODUCER_SEQUENCE);
    }

    /** Number of fields present. */
    public int size() {
        int n = 0;
        for (int k = 1; k <= MAX_KNOWN_KEY; k++) {
            if (values[k] >= 0) {
                n++;
            }
        }
        return n;
    }

    public boolean isEmpty() {
        return size() == 0;
    }

    /** The field's name in {@code docs/protocol.md} and the vectors, e.g. {@code lastSequence}. */
    public static String name(int key) {
        return key >= 1 && key <= MAX_KNOWN_KEY ? NAMES[key] : "key" + key;
    }

    /** The key of a field name, or -1. */
    public static int keyOf(String name) {
        for (int k = 1; k <= MAX_KNOWN_KEY; k++) {
            if (NAMES[k].equals(name)) {
                return k;
            }
        }
        return -1;
    }

    /** Keys present, ascending (the order an encoder writes them in). */
    public int[] keys() {
        int[] keys = new int[size()];
        int i = 0;
        for (int k = 1; k <= MAX_KNOWN_KEY; k++) {
            if (values[k] >= 0) {
                keys[i++] = k;
            }
        }
        return keys;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ErrorFields f && Arrays.equals(values, f.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        for (int k : keys()) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(name(k)).append('=').append(values[k]);
        }
        return sb.append('}').toString();
    }
}
