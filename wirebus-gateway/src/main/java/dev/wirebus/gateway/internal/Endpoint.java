package dev.wirebus.gateway.internal;

/** Handles one matched request; answers through {@link Exchange#respond} now or later, from any thread. */
@FunctionalInterface
public interface Endpoint {
    void handle(Exchange exchange) throws Exception;
}
