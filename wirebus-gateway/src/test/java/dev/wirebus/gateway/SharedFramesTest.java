package dev.wirebus.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The gateway encodes a live message once and writes the same bytes to every subscriber, past
 * Netty's HTTP and WebSocket encoders (HTTP chunk and WebSocket frame headers of its own, a
 * WebSocket message frame in three parts: header, the subscription's prefix, the shared rest). Real
 * clients (java.net.http) must read exactly what the encoders would have written: payload sizes
 * across every length boundary of both framings (chunk sizes of 1 to 5 hex digits, WebSocket 7-bit,
 * 16-bit and 64-bit lengths), text that JSON and SSE must escape or split, subscribe ids of many
 * lengths (the shared headers are kept per payload length, four per message), and both encodings.
 */
@Timeout(120)
class SharedFramesTest {
    /**
     * Around each chunk-size boundary (16, 256, 4096, 65536: one more hex digit), and every size in two
     * dense ranges, so that each subscriber's frames, whatever its id's length, cross the WebSocket
     * length boundaries (125/126 and 65535/65536 bytes of JSON).
     */
    private static final int[] SIZES = java.util.stream.IntStream.concat(
            java.util.stream.IntStream.of(0, 1, 14, 15, 16, 17, 254, 255, 256, 257, 4095, 4096, 4097, 65_535, 65_536,
                    65_537, 70_000),
            java.util.stream.IntStream.concat(java.util.stream.IntStream.rangeClosed(10, 80),
                    java.util.stream.IntStream.rangeClosed(65_415, 65_475))).toArray();

    private GatewayFixture f;

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }

    /** A text payload of {@code size} UTF-8 bytes with quotes, backslashes, CR/LF, a control character and non-ASCII. */
    private static byte[] payload(int seq, int size) {
        byte[] head = ("#" + seq + " \"q\" \\ \r\n\u0001 é ").getBytes(StandardCharsets.UTF_8);
        byte[] p = new byte[size];
        for (int i = 0; i < size; i++) {
            p[i] = (byte) ('a' + i % 26);
        }
        if (size >= head.length) {
            System.arraycopy(head, 0, p, 0, head.length);
        }
        return p;
    }

    @Test
    void everySubscriberReadsEveryMessageExactlyAsSentAcrossFrameLengthBoundaries() {
        // the clients are read one after the other: the others' frames wait in the gateway meanwhile
        f = GatewayFixture.start(l -> l.subscriberBufferBytes(64 << 20));
        List<WsClient> ws = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        List<Boolean> wsBase64 = new ArrayList<>();
        List<SseEvents> sse = new ArrayList<>();
        List<Boolean> sseBase64 = new ArrayList<>();
        try {
            // ids of 7 lengths (more than the 4 shared headers a message keeps), one without an id, one to escape
            String[] wsIds = {null, "", "a", "ab", "abc", "abcdefgh", "q\"\\é", "0123456789012345678901234567890123456789"};
            for (int i = 0; i < wsIds.length; i++) {
                WsClient c = WsClient.connect(f);
                boolean b64 = i % 3 == 2;
                String idField = wsIds[i] == null ? "" : ",\"id\":" + GatewayFixture.JSON.valueToTree(wsIds[i]);
                c.send("{\"op\":\"subscribe\",\"stream\":\"frames\",\"from\":\"end\"" + idField
                        + (b64 ? ",\"encoding\":\"base64\"" : "") + "}");
                JsonNode subscribed = c.next();
                assertThat(subscribed.path("type").asText()).as("subscribe answer %s", subscribed).isEqualTo("subscribed");
                ws.add(c);
                ids.add(wsIds[i]);
                wsBase64.add(b64);
            }
            for (int i = 0; i < 4; i++) {
                boolean b64 = i % 2 == 1;
                sse.add(SseEvents.open(f.http, f.uri("/v1/streams/frames/events?from=end" + (b64 ? "&encoding=base64" : ""))));
                sseBase64.add(b64);
            }
            // each subscriber is attached once it was answered (subscribed frame, SSE response head)

            List<byte[]> sent = new ArrayList<>();
            for (int i = 0; i < SIZES.length; i++) {
                byte[] p = payload(i + 1, SIZES[i]);
                sent.add(p);
                assertThat(f.client.publish("frames", p).join().firstSequence()).isEqualTo(i + 1);
            }

            for (int c = 0; c < ws.size(); c++) {
                for (int i = 0; i < sent.size(); i++) {
                    JsonNode m = ws.get(c).next();
                    String what = "ws subscriber " + c + " (id " + ids.get(c) + "), message of " + SIZES[i] + " bytes";
                    assertThat(m.path("type").asText()).as(what).isEqualTo("message");
                    assertThat(m.path("seq").asLong()).as(what).isEqualTo(i + 1);
                    assertThat(m.path("stream").asText()).as(what).isEqualTo("frames");
                    if (ids.get(c) == null) {
                        assertThat(m.has("id")).as(what).isFalse();
                    } else {
                        assertThat(m.path("id").asText()).as(what).isEqualTo(ids.get(c));
                    }
                    byte[] got = wsBase64.get(c) ? Base64.getDecoder().decode(m.path("base64").asText())
                            : m.path("data").asText().getBytes(StandardCharsets.UTF_8);
                    assertThat(got).as(what).isEqualTo(sent.get(i));
                }
            }
            for (int c = 0; c < sse.size(); c++) {
                for (int i = 0; i < sent.size(); i++) {
                    SseEvents.Event e = sse.get(c).next();
                    String what = "sse subscriber " + c + ", message of " + SIZES[i] + " bytes";
                    assertThat(e).as(what).isNotNull();
                    assertThat(e.id()).as(what).isEqualTo(Long.toString(i + 1));
                    // SSE splits data at CR, LF and CRLF and joins the lines with LF
                    String expected = sseBase64.get(c) ? Base64.getEncoder().encodeToString(sent.get(i))
                            : new String(sent.get(i), StandardCharsets.UTF_8).replace("\r\n", "\n").replace('\r', '\n');
                    assertThat(e.data()).as(what).isEqualTo(expected);
                }
            }
            // everything written: nothing stays queued in the gateway
            await().atMost(Duration.ofSeconds(10)).until(() -> f.registry.get("wirebus.gateway.buffered.bytes").gauge().value() == 0);
        } finally {
            ws.forEach(WsClient::close);
            sse.forEach(SseEvents::close);
        }
    }
}
