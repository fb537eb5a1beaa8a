package dev.wirebus.gateway.internal;

/** Whole-number query parameters with a range, refused with a message naming the parameter. */
final class Numbers {
    private Numbers() {
    }

    /** {@code text} as a number in {@code [min, max]}, or {@code otherwise} when absent. */
    static long parse(String text, long otherwise, long min, long max, String name) {
        if (text == null || text.isEmpty()) {
            return otherwise;
        }
        long n;
        try {
            n = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " '" + text + "' is not a whole number");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(name + (max == Long.MAX_VALUE ? " must be at least " + min
                    : " must be " + min + " to " + max) + ", was " + n);
        }
        return n;
    }
}
