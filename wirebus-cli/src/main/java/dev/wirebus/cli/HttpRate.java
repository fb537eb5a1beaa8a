package dev.wirebus.cli;

import dev.wirebus.gateway.GatewayLimits;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rate limit as people type it: {@code 50/s}, {@code 6000/min}, {@code 100000/h}.
 *
 * <pre>{@code
 * HttpRate r = HttpRate.parse("6000/min");   // 6000 per 1 minute
 * }</pre>
 */
record HttpRate(long permits, Duration period) {
    private static final Pattern FORM = Pattern.compile("(\\d{1,12})\\s*/\\s*([a-z]+)");

    static HttpRate parse(String text) {
        Matcher m = FORM.matcher(text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a rate like 50/s, 6000/min or 100000/h");
        }
        long permits = Long.parseLong(m.group(1));
        if (permits < 1) {
            throw new IllegalArgumentException("'" + text + "': the rate must be at least 1");
        }
        Duration period = switch (m.group(2)) {
            case "s", "sec", "second" -> Duration.ofSeconds(1);
            case "m", "min", "minute" -> Duration.ofMinutes(1);
            case "h", "hour" -> Duration.ofHours(1);
            default -> throw new IllegalArgumentException("'" + text + "': the period is s, min or h");
        };
        return new HttpRate(permits, period);
    }

    static HttpRate of(GatewayLimits limits) {
        return new HttpRate(limits.ratePermits(), limits.ratePeriod());
    }

    @Override
    public String toString() {
        String unit = period.equals(Duration.ofSeconds(1)) ? "s" : period.equals(Duration.ofMinutes(1)) ? "min"
                : period.equals(Duration.ofHours(1)) ? "h" : period.toMillis() + "ms";
        return permits + "/" + unit;
    }
}
