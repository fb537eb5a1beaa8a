package dev.wirebus.cli;

import picocli.CommandLine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses durations the way people type them: {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}.
 * A unit is required and the value must be positive.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    private static final Pattern FORM = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final Pattern ZERO = Pattern.compile("0+(ms|s|m|h)?");

    @Override
    public Duration convert(String text) {
        return parse(text);
    }

    static Duration parse(String text) {
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("'" + text
                    + "' is not a duration: use a whole number with a unit, e.g. 500ms, 10s, 2m, 1h");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.isZero()) {
            throw new CommandLine.TypeConversionException("duration '" + text + "' must be more than zero");
        }
        return d;
    }

    /** Like {@link #parse}, but also takes zero: {@code 0}, {@code 0ms}, {@code 0s}. */
    static Duration parseAllowingZero(String text) {
        if (ZERO.matcher(text.trim()).matches()) {
            return Duration.ZERO;
        }
        return parse(text);
    }

    /** {@code 1500 ms} as {@code 1500ms}, {@code 10 s} as {@code 10s}: the way the user would write it. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "0ms";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
