package dev.wirebus.gateway.internal;

import dev.wirebus.security.Operation;
import io.netty.handler.codec.http.HttpMethod;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Finds the route of a request by method and path. Immutable once built; thread-safe. */
public final class Router {
    /** A matched route and its path parameters; {@code route} is null when only the method is wrong. */
    public record Match(Route route, Map<String, String> params, boolean methodNotAllowed) {
    }

    private final List<Route> routes = new ArrayList<>();

    public Router add(HttpMethod method, String template, Route.Kind kind, Endpoint endpoint) {
        routes.add(new Route(method, template, kind, endpoint));
        return this;
    }

    /** A route whose caller must be allowed {@code operation} on the path parameter {@code resourceParam}. */
    public Router add(HttpMethod method, String template, Route.Kind kind, Endpoint endpoint, Operation operation,
                      String resourceParam) {
        routes.add(new Route(method, template, kind, endpoint, operation, resourceParam));
        return this;
    }

    /** The methods of the routes with this path (empty: no route has it), for {@code Allow} and preflights. */
    public List<HttpMethod> methods(String path) {
        String[] segments = path.split("/", -1);
        List<HttpMethod> methods = new ArrayList<>();
        for (Route r : routes) {
            if (r.match(segments) != null && !methods.contains(r.method())) {
                methods.add(r.method());
            }
        }
        return methods;
    }

    /** The route for {@code method} and {@code path}; null when no route has the path. */
    public Match match(HttpMethod method, String path) {
        String[] segments = path.split("/", -1);
        boolean pathKnown = false;
        for (Route r : routes) {
            Map<String, String> params = r.match(segments);
            if (params != null) {
                if (r.method().equals(method)) {
                    return new Match(r, params, false);
                }
                pathKnown = true;
            }
        }
        return pathKnown ? new Match(null, Map.of(), true) : null;
    }
}
