package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameCodec;
import dev.wirebus.server.BrokerConfig;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One broker connection in a Netty {@link EmbeddedChannel}: frames go in as objects, and what the
 * connection wrote comes out as frames (buffers the handlers write directly, DELIVER and FETCHED,
 * are decoded). No sockets, no threads: memory storage answers on the calling thread, and timers
 * run when the test says so. The handshake is done by {@link #open}.
 */
final class EmbeddedConnection implements AutoCloseable {
    final BrokerContext broker;
    final ConnectionHandler handler;
    final EmbeddedChannel channel;
    private final boolean ownsBroker;
    private long nextRequestId = 100;

    private EmbeddedConnection(BrokerContext broker, DispatchTable table, boolean ownsBroker) {
        this.broker = broker;
        this.ownsBroker = ownsBroker;
        this.handler = new ConnectionHandler(broker, table);
        this.channel = new EmbeddedChannel(handler);
    }

    /** A configuration for an in-memory broker; the address is never bound (no socket is opened). */
    static BrokerConfig.Builder embeddedConfig() {
        return BrokerConfig.builder().tcp(new java.net.InetSocketAddress("127.0.0.1", 0));
    }

    /** A handshaken connection to a fresh in-memory broker. */
    static EmbeddedConnection open() {
        return open(b -> b);
    }

    /** A handshaken connection to a fresh in-memory broker configured by {@code config}. */
    static EmbeddedConnection open(UnaryOperator<BrokerConfig.Builder> config) {
        BrokerConfig c = config.apply(embeddedConfig()).build();
        return open(new BrokerContext(c, new MemoryStorage(c), new BrokerMetrics(c.meterRegistry())),
                DispatchTable.standard(), true);
    }

    /** A second handshaken connection to this connection's broker (closing it leaves the broker). */
    EmbeddedConnection another() {
        return open(broker, DispatchTable.standard(), false);
    }

    /** A handshaken connection to a fresh in-memory broker, served by the handlers of {@code table}. */
    static EmbeddedConnection open(DispatchTable table) {
        BrokerConfig c = embeddedConfig().build();
        return open(new BrokerContext(c, new MemoryStorage(c), new BrokerMetrics(c.meterRegistry())), table, true);
    }

    private static EmbeddedConnection open(BrokerContext broker, DispatchTable table, boolean ownsBroker) {
        EmbeddedConnection c = new EmbeddedConnection(broker, table, ownsBroker);
        c.channel.writeInbound(new Frame.Hello(1, 1, FrameCodec.PROTOCOL_VERSION, "embedded"));
        assertThat(c.next()).isInstanceOf(Frame.Welcome.class);
        return c;
    }

    /** A fresh request id for a frame the test sends. */
    long id() {
        return nextRequestId++;
    }

    /** Sends frames as one read burst, then runs the tasks they queued. */
    EmbeddedConnection send(Frame... frames) {
        channel.writeInbound((Object[]) frames);
        channel.runPendingTasks();
        return this;
    }

    /** The next frame the connection wrote, or null if none. */
    Frame next() {
        channel.runPendingTasks();
        Object o = channel.readOutbound();
        if (o == null || o instanceof Frame) {
            return (Frame) o;
        }
        ByteBuf buf = (ByteBuf) o;
        try {
            buf.skipBytes(FrameCodec.LENGTH_FIELD_LENGTH);
            byte[] bytes = new byte[buf.readableBytes()];
            buf.readBytes(bytes);
            return FrameCodec.decode(Unpooled.wrappedBuffer(bytes), FrameCodec.PROTOCOL_VERSION);
        } finally {
            buf.release();
        }
    }

    /** The next frame, which must be of {@code type}. */
    <F extends Frame> F next(Class<F> type) {
        Frame f = next();
        assertThat(f).as("next frame").isInstanceOf(type);
        return type.cast(f);
    }

    /** Every frame written so far. */
    List<Frame> drain() {
        List<Frame> out = new ArrayList<>();
        Frame f;
        while ((f = next()) != null) {
            out.add(f);
        }
        return out;
    }

    /** The next frame, which must be an ERROR with {@code code} answering {@code requestId}. */
    Frame.Error nextError(long requestId, ErrorCode code) {
        Frame.Error e = next(Frame.Error.class);
        assertThat(e.requestId()).as("request id of " + e).isEqualTo(requestId);
        assertThat(e.code()).as("code of " + e).isEqualTo(code.code());
        return e;
    }

    /** Publishes one payload and returns its sequence. */
    long publish(String stream, String payload) {
        long id = id();
        send(new Frame.Publish(id, stream, Frame.NO_EXPECTED_SEQUENCE, payload.getBytes()));
        Frame.PublishAck ack = next(Frame.PublishAck.class);
        assertThat(ack.requestId()).isEqualTo(id);
        return ack.firstSequence();
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
        if (ownsBroker) {
            broker.streams().closeAll();
            broker.storage().close();
        }
    }
}
