package dev.wirebus.server.internal;

/** Lets tests in other packages build the package-private in-memory log, e.g. as a reference. */
public final class InMemoryLogs {
    private InMemoryLogs() {
    }

    public static StreamLog create(long retentionMessages, long retentionBytes) {
        return new InMemoryStreamLog(retentionMessages, retentionBytes);
    }
}
