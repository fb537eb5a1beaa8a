package dev.wirebus.server.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * The life of a Unix socket file: before bind, a file already at the path is probed: a live
 * broker there means refuse, a dead file is removed; after bind, the file gets its permissions;
 * at shutdown, it is removed.
 */
public final class UnixSocketFile {
    private UnixSocketFile() {
    }

    /**
     * Makes the path free to bind.
     *
     * @throws IOException naming the path when something listens there, or when it is not a socket
     * @return true when a stale file was removed
     */
    public static boolean prepare(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Path parent = path.getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            return false;
        }
        if (Files.isDirectory(path) || Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(path));
        } catch (ConnectException e) {
            // nobody accepts there: a file left by a broker that died
            Files.deleteIfExists(path);
            return true;
        }
        throw new IOException("another broker is listening on " + path
                + "; stop it or choose another path with --uds");
    }

    /** Gives the bound socket file its permissions. */
    public static void restrict(Path path, Set<PosixFilePermission> permissions) throws IOException {
        Files.setPosixFilePermissions(path, permissions);
    }

    /** Removes the socket file, quietly. */
    public static void remove(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // best effort at shutdown; the next start removes a stale file anyway
        }
    }

    /**
     * Gives the socket file to {@code group} and lets the group read and write it (mode 0660 at
     * least), so that the services of that group can connect.
     *
     * @throws IOException naming the group when it does not exist or cannot be given
     */
    public static void shareWithGroup(Path path, String group) throws IOException {
        java.nio.file.attribute.GroupPrincipal g;
        try {
            g = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        } catch (java.nio.file.attribute.UserPrincipalNotFoundException e) {
            throw new IOException("socket-group '" + group + "' is not a group on this machine");
        }
        Files.getFileAttributeView(path, java.nio.file.attribute.PosixFileAttributeView.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).setGroup(g);
        Set<PosixFilePermission> mode = new java.util.HashSet<>(Files.getPosixFilePermissions(path));
        mode.add(PosixFilePermission.GROUP_READ);
        mode.add(PosixFilePermission.GROUP_WRITE);
        Files.setPosixFilePermissions(path, mode);
    }
}
