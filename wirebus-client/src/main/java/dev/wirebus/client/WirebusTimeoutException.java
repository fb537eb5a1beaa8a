package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * A call's deadline passed: the broker answered TIMEOUT (request/reply), or the client gave up
 * waiting for an answer.
 *
 * <pre>{@code
 * client.request("state.epoch", new byte[0], Duration.ofSeconds(10))
 *       .exceptionally(e -> e.getCause() instanceof WirebusTimeoutException ? fallback : null);
 * }</pre>
 */
public class WirebusTimeoutException extends WirebusException {
    private static final long serialVersionUID = 1L;

    public WirebusTimeoutException(String message) {
        super(ErrorCode.TIMEOUT, message);
    }
}
