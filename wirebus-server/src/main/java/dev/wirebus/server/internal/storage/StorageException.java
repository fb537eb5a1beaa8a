package dev.wirebus.server.internal.storage;

/**
 * A stream log could not do what was asked: an I/O error, corrupt data found while reading, or a
 * log that failed earlier (after a failed fsync a log refuses all further work, because the kernel
 * may have dropped the pages it could not write and durability can no longer be promised).
 */
public final class StorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StorageException(String message) {
        super(message);
    }

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
