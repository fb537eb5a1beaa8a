package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A WebSocket client of the gateway's JSON protocol over java.net.http: frames arrive in a queue, or at a callback. */
final class WsClient implements AutoCloseable {
    final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    final CompletableFuture<Integer> closedWith = new CompletableFuture<>();
    private final WebSocket socket;

    private WsClient(HttpClient http, URI uri, Consumer<JsonNode> onFrame) {
        this(http, uri, onFrame, new String[0]);
    }

    private WsClient(HttpClient http, URI uri, Consumer<JsonNode> onFrame, String[] subprotocols) {
        WebSocket.Listener listener = new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    JsonNode frame = parse(partial.toString());
                    partial.setLength(0);
                    if (onFrame != null) {
                        onFrame.accept(frame);
                    } else {
                        frames.add(frame);
                    }
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
                closedWith.complete(statusCode);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                closedWith.complete(-1);
            }
        };
        WebSocket.Builder builder = http.newWebSocketBuilder();
        if (subprotocols.length > 0) {
            builder.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        }
        this.socket = builder.buildAsync(uri, listener).join();
    }

    static WsClient connect(GatewayFixture f) {
        return new WsClient(f.http, URI.create("ws://127.0.0.1:" + f.gateway.port() + "/v1/ws"), null);
    }

    static WsClient connect(int port) {
        return new WsClient(java.net.http.HttpClient.newHttpClient(), URI.create("ws://127.0.0.1:" + port + "/v1/ws"), null);
    }

    /** Frames go to {@code onFrame} (on the client's thread) instead of the queue. */
    static WsClient connect(GatewayFixture f, Consumer<JsonNode> onFrame) {
        return new WsClient(f.http, URI.create("ws://127.0.0.1:" + f.gateway.port() + "/v1/ws"), onFrame);
    }

    /** Offers {@code subprotocols} in the handshake (e.g. {@code wirebus.v1} and {@code bearer.<token>}). */
    static WsClient connectOffering(GatewayFixture f, String... subprotocols) {
        return new WsClient(f.http, URI.create("ws://127.0.0.1:" + f.gateway.port() + "/v1/ws"), null, subprotocols);
    }

    /** The subprotocol the gateway selected ("" for none). */
    String subprotocol() {
        return socket.getSubprotocol();
    }

    void send(String json) {
        socket.sendText(json, true).join();
    }

    /** The next frame, waiting up to 10 s. */
    JsonNode next() {
        try {
            JsonNode frame = frames.poll(10, TimeUnit.SECONDS);
            if (frame == null) {
                throw new AssertionError("no frame within 10 s");
            }
            return frame;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Cuts the connection without a closing handshake, as a network failure would. */
    void abort() {
        socket.abort();
    }

    private static JsonNode parse(String text) {
        try {
            return GatewayFixture.JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        socket.abort();
    }
}
