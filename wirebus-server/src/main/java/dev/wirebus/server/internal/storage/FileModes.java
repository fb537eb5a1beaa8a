package dev.wirebus.server.internal.storage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Permissions given to the files and directories a store creates (by default {@code rw-------}
 * and {@code rwx------}). Set explicitly after creation, so the process umask neither widens nor
 * narrows them. {@link #NONE} leaves whatever the umask gives.
 *
 * <p>Immutable, thread-safe.
 */
public record FileModes(Set<PosixFilePermission> file, Set<PosixFilePermission> directory) {
    /** Leaves permissions as the umask makes them. */
    public static final FileModes NONE = new FileModes(null, null);

    /** Gives {@code path}, a file, the file mode. */
    public void file(Path path) throws IOException {
        if (file != null) {
            Files.setPosixFilePermissions(path, file);
        }
    }

    /** Gives {@code path}, a directory, the directory mode. */
    public void directory(Path path) throws IOException {
        if (directory != null) {
            Files.setPosixFilePermissions(path, directory);
        }
    }

    /** Creates {@code dir} and missing parents; each directory it creates gets the directory mode. */
    public void createDirectories(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath();
        if (Files.isDirectory(abs)) {
            return;
        }
        Path parent = abs.getParent();
        if (parent != null) {
            createDirectories(parent);
        }
        try {
            Files.createDirectory(abs);
        } catch (java.nio.file.FileAlreadyExistsException e) {
            return;
        }
        directory(abs);
    }
}
