package dev.wirebus.systemtests;

import dev.wirebus.client.ProtocolViolationException;
import dev.wirebus.client.PublishOptions;
import dev.wirebus.client.SequenceMismatchException;
import dev.wirebus.client.ServerRefusedException;
import dev.wirebus.client.WirebusClient;
import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.ErrorFields;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Java client against a scripted broker on a real TCP socket: one that speaks version 1 only
 * (the client must fall back to what the message text says) and one that answers a version the
 * client never offered.
 */
class ClientVersionFallbackTest {

    /** A one-connection broker driven by the test, frame by frame, in a given protocol version. */
    private static final class ScriptedBroker implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket socket;
        DataInputStream in;
        OutputStream out;
        int version = 1;

        ScriptedBroker() throws IOException {
            server.setSoTimeout(10_000);
        }

        String address() {
            return "tcp://127.0.0.1:" + server.getLocalPort();
        }

        void accept() throws IOException {
            socket = server.accept();
            socket.setSoTimeout(10_000);
            in = new DataInputStream(socket.getInputStream());
            out = socket.getOutputStream();
        }

        Frame read() throws IOException {
            int len = in.readInt();
            byte[] body = new byte[len];
            in.readFully(body);
            return FrameCodec.decode(Unpooled.wrappedBuffer(body), version);
        }

        void send(Frame f) throws IOException {
            ByteBuf buf = FrameCodec.encode(f, UnpooledByteBufAllocator.DEFAULT, version);
            try {
                out.write(ByteBufUtil.getBytes(buf));
                out.flush();
            } finally {
                buf.release();
            }
        }

        @Override
        public void close() throws IOException {
            if (socket != null) {
                socket.close();
            }
            server.close();
        }
    }

    @Test
    void againstAVersionOneBrokerTheClientReadsTheNumbersFromTheMessages() throws Exception {
        try (ScriptedBroker broker = new ScriptedBroker()) {
            CompletableFuture<WirebusClient> connecting = CompletableFuture.supplyAsync(() ->
                    WirebusClient.builder().address(broker.address()).name("fallback")
                            .connectTimeout(Duration.ofSeconds(10)).connect());
            broker.accept();
            Frame.Hello hello = (Frame.Hello) broker.read();
            assertThat(hello.minVersion()).isEqualTo(1);
            assertThat(hello.maxVersion()).isEqualTo(2);
            broker.send(new Frame.Welcome(hello.requestId(), 1, FrameCodec.DEFAULT_MAX_FRAME_LENGTH, 5, "old"));
            try (WirebusClient client = connecting.get(10, TimeUnit.SECONDS)) {
                assertThat(client.protocolVersion()).isEqualTo(1);

                CompletableFuture<Long> mismatch = client.publish("s", "x".getBytes(StandardCharsets.UTF_8), 3).thenApply(dev.wirebus.client.PublishAck::firstSequence);
                Frame.Publish p = (Frame.Publish) broker.read();
                broker.send(new Frame.Error(p.requestId(), ErrorCode.SEQUENCE_MISMATCH,
                        "stream 's' is at last sequence 7; expected sequence 3 is not 8"));
                assertThatThrownBy(mismatch::join).isInstanceOf(CompletionException.class).cause()
                        .isInstanceOfSatisfying(SequenceMismatchException.class, e -> {
                            assertThat(e.fields()).isEqualTo(ErrorFields.NONE);
                            assertThat(e.lastSequence()).isEqualTo(7);
                        });

                var producer = client.publish("s", "y".getBytes(StandardCharsets.UTF_8),
                        PublishOptions.builder().producer("imp", 2).build());
                Frame.PublishIdempotent pi = (Frame.PublishIdempotent) broker.read();
                broker.send(new Frame.Error(pi.requestId(), ErrorCode.PRODUCER_SEQUENCE, "producer 'imp' on stream 's': "
                        + "producer sequence 2 is older than the last 32 batches remembered (from 9 to 40); if it was "
                        + "appended, it was appended once; nothing was appended now"));
                assertThatThrownBy(producer::join).cause()
                        .isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                            assertThat(e.errorCode()).isEqualTo(ErrorCode.PRODUCER_SEQUENCE);
                            assertThat(e.lastProducerSequence()).hasValue(40);
                        });

                var fetch = client.fetch("s", 1, 10);
                Frame.Fetch f = (Frame.Fetch) broker.read();
                broker.send(new Frame.Error(f.requestId(), ErrorCode.SEQUENCE_NOT_RETAINED,
                        "stream 's' retains sequences from 30; sequence 1 is no longer available"));
                assertThatThrownBy(fetch::join).cause()
                        .isInstanceOfSatisfying(ServerRefusedException.class, e -> {
                            assertThat(e.firstRetainedSequence()).hasValue(30);
                            assertThat(e.retryAfter()).isEmpty();
                        });
            }
        }
    }

    @Test
    void aVersionTheClientDidNotOfferFailsTheHandshake() throws Exception {
        try (ScriptedBroker broker = new ScriptedBroker()) {
            CompletableFuture<WirebusClient> connecting = CompletableFuture.supplyAsync(() ->
                    WirebusClient.builder().address(broker.address()).name("strict")
                            .connectTimeout(Duration.ofSeconds(10)).connect());
            broker.accept();
            Frame.Hello hello = (Frame.Hello) broker.read();
            broker.send(new Frame.Welcome(hello.requestId(), 3, FrameCodec.DEFAULT_MAX_FRAME_LENGTH, 5, "future"));
            assertThatThrownBy(() -> connecting.get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(ProtocolViolationException.class,
                            e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.UNSUPPORTED_VERSION));
        }
    }
}
