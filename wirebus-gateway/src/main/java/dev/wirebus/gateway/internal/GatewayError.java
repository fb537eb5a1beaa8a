package dev.wirebus.gateway.internal;

import dev.wirebus.client.BackpressureException;
import dev.wirebus.client.ConnectionException;
import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.StoreChangedException;
import dev.wirebus.client.WirebusException;
import dev.wirebus.protocol.ErrorCode;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An error as the gateway reports it: a code (the protocol's {@link ErrorCode} names plus the
 * gateway's own), a message, the HTTP status it maps to, extra fields ({@code last_seq},
 * {@code resume_from}) and, for refusals worth retrying, a retry delay.
 */
public final class GatewayError {
    public static final String RATE_LIMITED = "RATE_LIMITED";
    public static final String BAD_REQUEST = "BAD_REQUEST";
    public static final String NOT_FOUND = "NOT_FOUND";
    public static final String METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED";
    public static final String SLOW_CONSUMER = "SLOW_CONSUMER";
    public static final String TOO_MANY_IN_FLIGHT = "TOO_MANY_IN_FLIGHT";
    public static final String TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS";
    public static final String BODY_TOO_LARGE = "BODY_TOO_LARGE";
    public static final String HEADER_TOO_LARGE = "HEADER_TOO_LARGE";
    public static final String BROKER_UNAVAILABLE = "BROKER_UNAVAILABLE";
    public static final String TIMEOUT = "TIMEOUT";
    public static final String TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS";
    public static final String BODY_TIMEOUT = "BODY_TIMEOUT";
    /** A readiness check other than the broker connection fails (e.g. the store is unreachable). */
    public static final String NOT_READY = "NOT_READY";
    /** The request's Host is not a name this gateway answers to (DNS rebinding). */
    public static final String HOST_NOT_ALLOWED = "HOST_NOT_ALLOWED";
    /** The request came from a page of an origin that is not allowed. */
    public static final String ORIGIN_NOT_ALLOWED = "ORIGIN_NOT_ALLOWED";
    /** No credential, and the anonymous caller may not do this (401). */
    public static final String AUTH_REQUIRED = "AUTH_REQUIRED";
    /** The bearer token was refused (401). */
    public static final String AUTH_FAILED = "AUTH_FAILED";
    /** The credential of a WebSocket or SSE stream expired and no fresh one came. */
    public static final String AUTH_EXPIRED = "AUTH_EXPIRED";
    /** The caller may not do this operation on this resource (403). */
    public static final String PERMISSION_DENIED = "PERMISSION_DENIED";
    /** The broker came back without the streams' history: a subscription cannot resume, and is not retried. */
    public static final String STREAM_RESET = "STREAM_RESET";

    private static final Pattern RETAINED_FROM = Pattern.compile("retains sequences from (\\d+)");

    private final HttpResponseStatus status;
    private final String code;
    private final String message;
    private final Map<String, Object> fields;
    private final long retryAfterMillis;

    private GatewayError(HttpResponseStatus status, String code, String message, Map<String, Object> fields,
                         long retryAfterMillis) {
        this.status = status;
        this.code = code;
        this.message = message;
        this.fields = fields;
        this.retryAfterMillis = retryAfterMillis;
    }

    public static GatewayError of(HttpResponseStatus status, String code, String message) {
        return new GatewayError(status, code, message, Collections.emptyMap(), 0);
    }

    public static GatewayError badRequest(String message) {
        return of(HttpResponseStatus.BAD_REQUEST, BAD_REQUEST, message);
    }

    /** A copy that asks the client to retry after {@code millis} (Retry-After, {@code retry_after_ms}). */
    public GatewayError retryAfter(long millis) {
        return new GatewayError(status, code, message, fields, Math.max(1, millis));
    }

    /** A copy with one more field in its JSON. */
    public GatewayError with(String field, Object value) {
        Map<String, Object> f = new LinkedHashMap<>(fields);
        f.put(field, value);
        return new GatewayError(status, code, message, Collections.unmodifiableMap(f), retryAfterMillis);
    }

    /** The error a failed client call reports, with the status it maps to. */
    public static GatewayError from(Throwable failure) {
        Throwable t = unwrap(failure);
        if (t instanceof SequenceMismatchException) {
            SequenceMismatchException m = (SequenceMismatchException) t;
            return of(HttpResponseStatus.CONFLICT, ErrorCode.SEQUENCE_MISMATCH.name(), m.getMessage())
                    .with("last_seq", m.lastSequence());
        }
        if (t instanceof BackpressureException) {
            return of(HttpResponseStatus.SERVICE_UNAVAILABLE, ErrorCode.BACKPRESSURE.name(), t.getMessage())
                    .retryAfter(1000);
        }
        if (t instanceof StoreChangedException) {
            return of(HttpResponseStatus.GONE, STREAM_RESET, t.getMessage());
        }
        if (t instanceof ConnectionException) {
            return of(HttpResponseStatus.SERVICE_UNAVAILABLE, BROKER_UNAVAILABLE, t.getMessage()).retryAfter(1000);
        }
        if (t instanceof WirebusException) {
            ErrorCode code = ((WirebusException) t).errorCode();
            GatewayError e = of(statusOf(code), code.name(), t.getMessage());
            if (code == ErrorCode.SEQUENCE_NOT_RETAINED) {
                Matcher m = RETAINED_FROM.matcher(String.valueOf(t.getMessage()));
                if (m.find()) {
                    e = e.with("resume_from", Long.parseLong(m.group(1)));
                }
            }
            if (code == ErrorCode.NO_RESPONDERS || code == ErrorCode.SHUTTING_DOWN) {
                e = e.retryAfter(1000);
            }
            if (code == ErrorCode.BACKPRESSURE) {
                // the broker's hint (a gated stream, a full queue) becomes Retry-After; 1 s when it gave none
                long hint = t instanceof ServerRefusedException
                        ? ((ServerRefusedException) t).retryAfter().map(java.time.Duration::toMillis).orElse(1000L)
                        : 1000L;
                e = e.retryAfter(hint);
            }
            return e;
        }
        if (t instanceof IllegalArgumentException) {
            return badRequest(t.getMessage());
        }
        return of(HttpResponseStatus.INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL.name(), String.valueOf(t));
    }

    private static HttpResponseStatus statusOf(ErrorCode code) {
        switch (code) {
            case SEQUENCE_MISMATCH:
            case DUPLICATE_SUBSCRIPTION:
                return HttpResponseStatus.CONFLICT;
            case SEQUENCE_NOT_RETAINED:
                return HttpResponseStatus.GONE;
            case MESSAGE_TOO_LARGE:
                return HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE;
            case STREAM_LIMIT:
                // the broker holds as many streams as it may: the server cannot store what this
                // request would create (not the client's fault, so no 4xx like 429; not transient, so no 503)
                return HttpResponseStatus.INSUFFICIENT_STORAGE;
            case INVALID_ARGUMENT:
                return HttpResponseStatus.BAD_REQUEST;
            case PERMISSION_DENIED:
                return HttpResponseStatus.FORBIDDEN;
            case NOT_FOUND:
                return HttpResponseStatus.NOT_FOUND;
            case TIMEOUT:
                return HttpResponseStatus.GATEWAY_TIMEOUT;
            case NO_RESPONDERS:
            case SHUTTING_DOWN:
            case BACKPRESSURE:
            case UNAVAILABLE:
                return HttpResponseStatus.SERVICE_UNAVAILABLE;
            case RESPONDER_GONE:
            case RESPONDER_FAILED:
                return HttpResponseStatus.BAD_GATEWAY;
            default:
                return HttpResponseStatus.INTERNAL_SERVER_ERROR;
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** False when resuming the subscription at a sequence makes no sense ({@code STREAM_RESET}): no {@code resume_from}. */
    public boolean resumable() {
        return !STREAM_RESET.equals(code);
    }

    public HttpResponseStatus status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String message() {
        return message;
    }

    /** Extra JSON fields, e.g. {@code last_seq}. */
    public Map<String, Object> fields() {
        return fields;
    }

    /** Milliseconds the client should wait before retrying; 0 when not a retryable refusal. */
    public long retryAfterMillis() {
        return retryAfterMillis;
    }

    @Override
    public String toString() {
        return status.code() + " " + code + ": " + message;
    }
}
