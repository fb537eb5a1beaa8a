package dev.wirebus.gateway.internal;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.ReadOnlyHttpHeaders;
import io.netty.util.AsciiString;

import java.nio.charset.StandardCharsets;

/** Builds the gateway's HTTP responses: JSON bodies, typed errors, plain text, raw bytes. */
public final class Responses {
    public static final String JSON = "application/json";
    private static final AsciiString JSON_TYPE = AsciiString.cached(JSON);
    /**
     * Headers of the responses built here, unvalidated: every name is a constant and every value is
     * the gateway's own (a content type, a length, a number of seconds), never a client's text.
     */
    private static final HttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);
    private static final HttpHeaders NO_TRAILERS = new ReadOnlyHttpHeaders(false); // immutable: shared
    private static final HttpHeadersFactory TRAILERS = DefaultHttpHeadersFactory.trailersFactory().withValidation(false);

    private Responses() {
    }

    public static FullHttpResponse json(HttpResponseStatus status, Object body) {
        return bytes(status, Json.bytes(body), JSON);
    }

    public static FullHttpResponse text(HttpResponseStatus status, String body, String contentType) {
        return bytes(status, body.getBytes(StandardCharsets.UTF_8), contentType);
    }

    /** A JSON response whose body is already written into {@code body} (which the response then owns). */
    public static FullHttpResponse json(HttpResponseStatus status, ByteBuf body) {
        return content(status, body, JSON_TYPE);
    }

    /**
     * {@link #json(HttpResponseStatus, ByteBuf)} with read-only headers, for the gateway's most
     * frequent answer (a publish's): the HTTP encoder looks several headers up in every response, and
     * two name-value pairs in an array answer that faster than a hash table built per response.
     * {@link HttpRequestHandler} makes them writable copies when it must add {@code Connection: close}.
     */
    public static FullHttpResponse jsonReadOnlyHeaders(HttpResponseStatus status, ByteBuf body) {
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body,
                new ReadOnlyHttpHeaders(false, HttpHeaderNames.CONTENT_TYPE, JSON_TYPE,
                        HttpHeaderNames.CONTENT_LENGTH, Integer.toString(body.readableBytes())),
                NO_TRAILERS);
    }

    public static FullHttpResponse bytes(HttpResponseStatus status, byte[] body, String contentType) {
        return content(status, Unpooled.wrappedBuffer(body), contentType);
    }

    private static FullHttpResponse content(HttpResponseStatus status, ByteBuf body, CharSequence contentType) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body, HEADERS, TRAILERS);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        return r;
    }

    /** {@code {"error":{"code":...,"message":...}}} with the error's status and, if it has one, Retry-After. */
    public static FullHttpResponse error(GatewayError error) {
        ObjectNode body = Json.object();
        body.set("error", Json.error(error));
        FullHttpResponse r = json(error.status(), body);
        if (error.retryAfterMillis() > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds(error.retryAfterMillis()));
        }
        if (error.status().code() == 401) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, GatewayError.AUTH_FAILED.equals(error.code())
                    ? "Bearer realm=\"wirebus\", error=\"invalid_token\"" : "Bearer realm=\"wirebus\"");
        }
        return r;
    }

    /** Retry-After is in whole seconds: round up, at least 1. */
    static long retryAfterSeconds(long millis) {
        return Math.max(1, (millis + 999) / 1000);
    }

    /**
     * A complete HTTP/1.1 error response as bytes, with {@code Connection: close}, for handlers that
     * sit before the HTTP codec (connection limit, header timeout).
     */
    public static ByteBuf raw(GatewayError error) {
        ObjectNode body = Json.object();
        body.set("error", Json.error(error));
        byte[] json = Json.bytes(body);
        StringBuilder head = new StringBuilder(160)
                .append("HTTP/1.1 ").append(error.status().code()).append(' ').append(error.status().reasonPhrase())
                .append("\r\nContent-Type: ").append(JSON)
                .append("\r\nContent-Length: ").append(json.length)
                .append("\r\nConnection: ").append(HttpHeaderValues.CLOSE);
        if (error.retryAfterMillis() > 0) {
            head.append("\r\nRetry-After: ").append(retryAfterSeconds(error.retryAfterMillis()));
        }
        head.append("\r\n\r\n");
        return Unpooled.wrappedBuffer(head.toString().getBytes(StandardCharsets.US_ASCII), json);
    }
}
