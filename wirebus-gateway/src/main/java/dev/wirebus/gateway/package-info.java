/**
 * The wirebus HTTP gateway: publish and read streams over HTTP, follow them with Server-Sent Events
 * or a WebSocket, make requests, with per-client limits, health checks and Prometheus metrics.
 * Start one with {@link dev.wirebus.gateway.Gateway#builder()}; see docs/gateway.md.
 */
package dev.wirebus.gateway;
