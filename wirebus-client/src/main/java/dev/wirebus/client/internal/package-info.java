/**
 * Implementation of the wirebus client; not public API, may change without notice. Package-private
 * parts with one job each, wired by {@link dev.wirebus.client.internal.DefaultWirebusClient}:
 * {@code Connection} (connect, handshake, AUTH, reconnect, backoff, failover, writes),
 * {@code ClientTls}, {@code CallTable} (ids, in-flight window, deadlines on a {@code Clock},
 * resends), {@code Subscriptions}/{@code ClientSubscription} (resume after reconnect) and
 * {@code Responders}. See docs/client.md for where to change what.
 */
package dev.wirebus.client.internal;
