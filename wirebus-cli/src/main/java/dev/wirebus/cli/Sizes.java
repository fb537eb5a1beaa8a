package dev.wirebus.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes the way people type them: {@code 4096}, {@code 64KiB}, {@code 64MiB}, {@code 1GiB}.
 * Units are binary (powers of 1024); decimal units such as {@code MB} are refused rather than
 * guessed at.
 *
 * <pre>{@code
 * Sizes.parse("64MiB");          // 67108864
 * Sizes.format(1L << 30);        // "1GiB"
 * }</pre>
 */
final class Sizes {
    private static final Pattern FORM = Pattern.compile("(\\d{1,19})\\s*([a-zA-Z]*)");
    private static final String EXAMPLES = "like 4096, 64KiB, 64MiB, 1GiB";

    private Sizes() {
    }

    /** Bytes in {@code text}, a whole number optionally followed by B, KiB, MiB, GiB or TiB (any case). */
    static long parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size " + EXAMPLES);
        }
        String unit = m.group(2).toLowerCase(Locale.ROOT);
        int shift = switch (unit) {
            case "", "b" -> 0;
            case "kib" -> 10;
            case "mib" -> 20;
            case "gib" -> 30;
            case "tib" -> 40;
            case "k", "kb", "m", "mb", "g", "gb", "t", "tb" -> throw new IllegalArgumentException("'" + text
                    + "' is not a size " + EXAMPLES + ": units are binary, write KiB, MiB, GiB or TiB");
            default -> throw new IllegalArgumentException("'" + text + "' is not a size " + EXAMPLES);
        };
        long n;
        try {
            n = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw tooLarge(text);
        }
        if (n > (Long.MAX_VALUE >> shift)) {
            throw tooLarge(text);
        }
        return n << shift;
    }

    private static IllegalArgumentException tooLarge(String text) {
        return new IllegalArgumentException("'" + text + "' is too large a size");
    }

    /** {@code bytes} in the largest binary unit that divides it exactly: {@code 1GiB}, {@code 1536KiB}, {@code 100}. */
    static String format(long bytes) {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        for (int i = 0; i < units.length; i++) {
            int shift = 40 - 10 * i;
            if (bytes != 0 && bytes % (1L << shift) == 0) {
                return (bytes >> shift) + units[i];
            }
        }
        return Long.toString(bytes);
    }
}
