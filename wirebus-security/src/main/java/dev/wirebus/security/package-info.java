/**
 * Access control shared by the broker and the gateway: {@link dev.wirebus.security.Principal},
 * {@link dev.wirebus.security.Operation} and {@link dev.wirebus.security.AccessPolicy}.
 */
package dev.wirebus.security;
