/**
 * Access control shared by the broker and the gateway.
 *
 * <p>{@link dev.wirebus.security.Principal}: who is connected; {@link dev.wirebus.security.Operation}:
 * what it asks to do; {@link dev.wirebus.security.AccessPolicy}: whether it may.
 * {@link dev.wirebus.security.SecurityConfig} is the whole configuration (the {@code [security]}
 * table): {@link dev.wirebus.security.AccessRules} (permissions per principal on
 * {@link dev.wirebus.security.ResourcePattern}s), the {@link dev.wirebus.security.Authenticator}
 * (static tokens stored as {@link dev.wirebus.security.TokenHash}es, JWTs checked by
 * {@link dev.wirebus.security.JwtVerifier}), {@link dev.wirebus.security.UnixPeerMapping} and
 * {@link dev.wirebus.security.TlsPeerMapping}, and the TLS files served by
 * {@link dev.wirebus.security.ReloadingSslContext}. {@link dev.wirebus.security.AuditLog} writes
 * the rate-limited audit lines.
 */
package dev.wirebus.security;
