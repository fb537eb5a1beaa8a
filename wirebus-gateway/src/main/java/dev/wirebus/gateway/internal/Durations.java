package dev.wirebus.gateway.internal;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations in headers and WebSocket fields: {@code 500ms}, {@code 2s}, {@code 1m}, or plain milliseconds. */
final class Durations {
    private static final Pattern FORM = Pattern.compile("(\\d{1,12})\\s*(ms|s|m)?");

    private Durations() {
    }

    static Duration parseOr(String text, Duration otherwise, String name) {
        if (text == null || text.isBlank()) {
            return otherwise;
        }
        Matcher m = FORM.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(name + " '" + text + "' is not a duration like 500ms, 2s or 2000");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2);
        Duration d = unit.equals("ms") ? Duration.ofMillis(n) : unit.equals("s") ? Duration.ofSeconds(n)
                : Duration.ofMinutes(n);
        if (d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
        return d;
    }
}
