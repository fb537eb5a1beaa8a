package dev.wirebus.client;

/**
 * What an AUTH established: the principal the broker maps the credential to, and when the
 * credential expires.
 *
 * <pre>{@code
 * Authentication a = client.authenticate(freshToken).join();
 * log.info("now {} until {}", a.principal(), a.expiresAtMillis());
 * }</pre>
 *
 * @param principal       the principal's name in the broker's access configuration
 * @param expiresAtMillis when the credential expires, in milliseconds since the epoch; 0 = never
 */
public record Authentication(String principal, long expiresAtMillis) {
}
