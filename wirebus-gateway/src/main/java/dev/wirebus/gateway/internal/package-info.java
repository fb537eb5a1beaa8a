/**
 * The gateway's implementation: the Netty pipeline, the limits, the endpoints and the subscriber
 * sessions. Not an API: anything here may change.
 */
package dev.wirebus.gateway.internal;
