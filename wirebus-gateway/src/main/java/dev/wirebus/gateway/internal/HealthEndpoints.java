package dev.wirebus.gateway.internal;

import dev.wirebus.client.ConnectionState;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code /healthz} (the gateway runs) and {@code /readyz} (its broker connection is up), open to
 * everyone for load balancers and orchestrators, and {@code /metrics}, which needs the admin
 * permission when the gateway has access control.
 */
public final class HealthEndpoints {
    private HealthEndpoints() {
    }

    /** 200 {@code ok} while the process serves HTTP. */
    public static void health(Exchange ex) {
        ex.respond(Responses.text(HttpResponseStatus.OK, "ok\n", "text/plain; charset=utf-8"));
    }

    /**
     * 200 {@code ready} when the client is connected to the broker and every readiness check
     * (e.g. the store's) holds; else 503 with the broker connection's state, or {@code NOT_READY}
     * naming the checks that fail.
     */
    public static void ready(Exchange ex) {
        ConnectionState state = ex.gateway().client().state();
        if (state != ConnectionState.CONNECTED) {
            ex.fail(GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.BROKER_UNAVAILABLE,
                    "broker connection is " + state.name().toLowerCase(java.util.Locale.ROOT)).retryAfter(1000));
            return;
        }
        java.util.List<String> failing = new java.util.ArrayList<>();
        ex.gateway().setup().readiness().forEach((name, healthy) -> {
            boolean ok;
            try {
                ok = healthy.getAsBoolean();
            } catch (RuntimeException e) {
                ok = false;
            }
            if (!ok) {
                failing.add(name);
            }
        });
        if (failing.isEmpty()) {
            ex.respond(Responses.text(HttpResponseStatus.OK, "ready\n", "text/plain; charset=utf-8"));
        } else {
            ex.fail(GatewayError.of(HttpResponseStatus.SERVICE_UNAVAILABLE, GatewayError.NOT_READY,
                    "not ready: " + String.join(", ", failing) + " unhealthy").with("failing", failing).retryAfter(1000));
        }
    }

    /**
     * The registry in the Prometheus text format. Its route asks for the admin permission on
     * {@code "*"} (only {@code admin = [">"]} or {@code ["*"]} grants it): the scrape names streams
     * and principals. A gateway without access control lets everyone scrape.
     */
    public static void metrics(Exchange ex) {
        ex.respond(Responses.text(HttpResponseStatus.OK, ex.gateway().registry().scrape(),
                "text/plain; version=0.0.4; charset=utf-8"));
    }
}
