package dev.wirebus.bench;

import dev.wirebus.server.BrokerConfig;
import dev.wirebus.server.BrokerConfig.Durability;
import dev.wirebus.server.BrokerConfig.Storage;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a benchmark's broker keeps its streams: in memory, or on disk under a durability policy
 * (with DISK, a publish is acknowledged after the fsync that covers it, except with NEVER).
 *
 * @param syncInterval longest a publish waits for its fsync under BATCH
 */
record BrokerStore(Storage storage, Durability durability, Duration syncInterval) {

    static BrokerStore memory() {
        return new BrokerStore(Storage.MEMORY, Durability.BATCH, Duration.ofMillis(5));
    }

    static BrokerStore disk(Durability durability, Duration syncInterval) {
        return new BrokerStore(Storage.DISK, durability, syncInterval);
    }

    boolean disk() {
        return storage == Storage.DISK;
    }

    static Storage parseStorage(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "memory" -> Storage.MEMORY;
            case "disk" -> Storage.DISK;
            default -> throw new IllegalArgumentException("--store must be memory or disk, was " + s);
        };
    }

    static Durability parseDurability(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "always" -> Durability.ALWAYS;
            case "batch" -> Durability.BATCH;
            case "never" -> Durability.NEVER;
            default -> throw new IllegalArgumentException("--durability must be always, batch or never, was " + s);
        };
    }

    /** "memory", "disk always", "disk batch 5ms", "disk never". */
    String label() {
        if (!disk()) {
            return "memory";
        }
        String policy = durability.name().toLowerCase(Locale.ROOT);
        return "disk " + policy + (durability == Durability.BATCH ? " " + BenchOptions.format(syncInterval) : "");
    }

    /** Sets this store on a broker configuration; {@code data} is the (fresh) data directory of a disk store. */
    void apply(BrokerConfig.Builder b, Path data) {
        b.storage(storage);
        if (disk()) {
            b.dataDirectory(data).durability(durability).syncInterval(syncInterval);
        }
    }

    /** The same for {@link BrokerMain}'s command line. */
    List<String> args(Path data) {
        List<String> a = new ArrayList<>(List.of("--store", storage.name().toLowerCase(Locale.ROOT)));
        if (disk()) {
            a.addAll(List.of("--data", data.toString(), "--durability", durability.name().toLowerCase(Locale.ROOT),
                    "--sync-interval", syncInterval.toNanos() + "ns"));
        }
        return a;
    }
}
