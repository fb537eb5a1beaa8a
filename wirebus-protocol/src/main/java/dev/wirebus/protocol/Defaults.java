package dev.wirebus.protocol;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Defaults shared by the broker and its clients, so that {@code wirebus serve} in one terminal and
 * {@code wirebus pub} in another meet without flags.
 *
 * <pre>{@code
 * Path socket = Defaults.unixSocket();   // $XDG_RUNTIME_DIR/wirebus.sock or ./wirebus.sock
 * }</pre>
 */
public final class Defaults {
    /** Default TCP port of the broker. */
    public static final int TCP_PORT = 7440;
    /** File name of the default Unix socket. */
    public static final String SOCKET_NAME = "wirebus.sock";

    private Defaults() {
    }

    /**
     * {@code $WIREBUS_SOCKET} when set; else {@code $XDG_RUNTIME_DIR/wirebus.sock} when that
     * directory exists; else {@code wirebus.sock} in the working directory.
     */
    public static Path unixSocket() {
        String explicit = System.getenv("WIREBUS_SOCKET");
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit).toAbsolutePath();
        }
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        if (runtime != null && !runtime.isBlank() && Files.isDirectory(Path.of(runtime))) {
            return Path.of(runtime, SOCKET_NAME);
        }
        return Path.of(SOCKET_NAME).toAbsolutePath();
    }
}
