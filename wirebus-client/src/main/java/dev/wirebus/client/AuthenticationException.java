package dev.wirebus.client;

import dev.wirebus.protocol.ErrorCode;

/**
 * The broker refused the client's credential ({@link ErrorCode#AUTH_FAILED}: unknown token, bad
 * signature, expired or not yet valid, wrong audience, unsupported mechanism) or the credential
 * expired while the connection was open ({@link ErrorCode#AUTH_EXPIRED}). Either closes the
 * connection: on the first connect, {@link WirebusClient.Builder#connect()} throws it; later the
 * {@link ConnectionListener} hears it and the client reconnects with a fresh credential from its
 * supplier ({@link WirebusClient.Builder#credentials}).
 *
 * <pre>{@code
 * try { WirebusClient.builder().address(a).token(t).connect(); }
 * catch (AuthenticationException e) { log.error("token refused: {}", e.getMessage()); }
 * }</pre>
 */
public class AuthenticationException extends ConnectionException {
    private static final long serialVersionUID = 1L;

    public AuthenticationException(ErrorCode code, String message) {
        super(code, message);
    }
}
