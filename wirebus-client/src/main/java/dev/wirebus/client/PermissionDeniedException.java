package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;

/**
 * The connection's principal may not do this operation on this stream, subject or consumer
 * ({@link ErrorCode#PERMISSION_DENIED}); the message names the operation and the resource. The
 * connection stays open. A {@link ServerRefusedException}, so code that checks
 * {@code errorCode()} keeps working.
 *
 * <pre>{@code
 * client.publish("blocks", b).exceptionally(e -> { if (e.getCause() instanceof PermissionDeniedException) alarm(); return null; });
 * }</pre>
 */
public class PermissionDeniedException extends ServerRefusedException {
    private static final long serialVersionUID = 1L;

    public PermissionDeniedException(String message, ErrorFields fields) {
        super(ErrorCode.PERMISSION_DENIED, message, fields);
    }
}
