package dev.wirebus.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The machine's physical floor as printed by {@code shared/floor/run.sh}: C ping-pong round trips
 * (p50, p99 in us) and one-way streaming of 100-byte frames (msg/s), per transport, and the
 * latency of a 4 KiB append + fdatasync in /tmp (p50 in us).
 */
final class Floor {
    private static final Pattern PINGPONG = Pattern.compile(
            "floor (uds|tcp) pingpong-\\S+:.*?\\bp50=([\\d.]+).*?\\bp99=([\\d.]+)");
    private static final Pattern STREAM = Pattern.compile("floor (uds|tcp) stream-\\S+:.*?\\bmsgs_per_s=([\\d.]+)");
    private static final Pattern FDATASYNC = Pattern.compile("floor fdatasync-append-4KiB:.*?\\bp50=([\\d.]+)");

    final Map<Transport, Double> pingP50 = new EnumMap<>(Transport.class);
    final Map<Transport, Double> pingP99 = new EnumMap<>(Transport.class);
    final Map<Transport, Double> streamRate = new EnumMap<>(Transport.class);
    /** p50 of write(4 KiB) + fdatasync appending to a file in /tmp, us; null when not in the file. */
    Double fdatasyncP50;

    /** The floor in {@code file}, or null when no file is given or it holds none. */
    static Floor read(String file) {
        if (file == null || file.isBlank()) {
            return null;
        }
        Floor f = new Floor();
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                Matcher m = PINGPONG.matcher(line);
                if (m.find()) {
                    Transport t = Transport.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT));
                    f.pingP50.put(t, Double.parseDouble(m.group(2)));
                    f.pingP99.put(t, Double.parseDouble(m.group(3)));
                }
                m = STREAM.matcher(line);
                if (m.find()) {
                    f.streamRate.put(Transport.valueOf(m.group(1).toUpperCase(java.util.Locale.ROOT)),
                            Double.parseDouble(m.group(2)));
                }
                m = FDATASYNC.matcher(line);
                if (m.find()) {
                    f.fdatasyncP50 = Double.parseDouble(m.group(1));
                }
            }
        } catch (IOException e) {
            System.err.println("cannot read the floor file " + file + ": " + e.getMessage());
            return null;
        }
        return f.pingP50.isEmpty() && f.streamRate.isEmpty() && f.fdatasyncP50 == null ? null : f;
    }
}
