package dev.wirebus.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import org.HdrHistogram.Recorder;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code n} subscribers of one stream through the gateway, each on its own HTTP connection: Server-Sent
 * Events ({@code GET /v1/streams/S/events?from=end}, the chunked response parsed in place as it comes) or WebSocket ({@code GET /v1/ws}, Netty's client handshaker, then
 * {@code {"op":"subscribe",...}}). All connections share one event-loop thread
 * ({@code bench-subscribers}), so the subscribers take at most one core.
 *
 * <p>Each message's payload starts with a text {@code nanoTime} stamp ({@link Producer#putText});
 * per read, the latency of every message in it is recorded against one {@code nanoTime()} taken when
 * the read began. Sequences are checked: a gap, a {@code wirebus-error} event or error frame, or a
 * connection that ends fails the load.
 */
final class GatewaySubscribers implements AutoCloseable {
    enum Protocol {
        SSE, WS;

        static Protocol parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "sse" -> SSE;
                case "ws", "websocket" -> WS;
                default -> throw new IllegalArgumentException("--protocol takes sse, ws or both; got " + s);
            };
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final ByteBuf HEAD_END = Unpooled.unreleasableBuffer(
            Unpooled.copiedBuffer("\r\n\r\n", StandardCharsets.US_ASCII));
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ID = "id: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ERROR_EVENT = "event: wirebus-error".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WS_MESSAGE = "{\"type\":\"message\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WS_DATA = "\"data\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final ByteBuf WS_DATA_BUF = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(WS_DATA));
    private static final byte[] WS_SUBSCRIBED = "{\"type\":\"subscribed\"".getBytes(StandardCharsets.US_ASCII);

    private final Protocol protocol;
    private final String stream;
    private final Load load;
    private final Recorder latency;
    private final EventLoopGroup group;
    /** False when the caller's group carries the connections: it stays running at close. */
    private final boolean ownGroup;
    private final List<Channel> channels = new ArrayList<>();
    private final Sub[] subs;
    private volatile boolean closing;

    /**
     * Connects {@code n} subscribers to the gateway at {@code host:port} and waits until every one is
     * subscribed (SSE: the response head, sent once the broker confirmed; WS: the "subscribed" frame).
     */
    GatewaySubscribers(Protocol protocol, String host, int port, String stream, int n, Duration timeout, Load load,
                       Recorder latency) {
        this(protocol, host, port, stream, n, timeout, load, latency, null);
    }

    /**
     * As above, on the caller's {@code sharedGroup} (from {@link #newEventLoopGroup}; left running at
     * {@link #close}) when not null, so that subscribers of several gateways can share its threads.
     */
    GatewaySubscribers(Protocol protocol, String host, int port, String stream, int n, Duration timeout, Load load,
                       Recorder latency, EventLoopGroup sharedGroup) {
        this.protocol = protocol;
        this.stream = stream;
        this.load = load;
        this.latency = latency;
        boolean epoll = Epoll.isAvailable();
        this.ownGroup = sharedGroup == null;
        this.group = ownGroup ? newEventLoopGroup(1) : sharedGroup;
        this.subs = new Sub[n];
        try {
            Bootstrap b = new Bootstrap().group(group)
                    .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
            URI wsUri = URI.create("ws://" + host + ":" + port + "/v1/ws");
            for (int i = 0; i < n; i++) {
                Sub s = subs[i] = new Sub(i, host + ":" + port);
                b.handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (protocol == Protocol.SSE) {
                            ch.pipeline().addLast(s.new SseDecoder());
                        } else {
                            ch.pipeline().addLast(s.new WsDecoder());
                            ch.pipeline().addLast(new HttpClientCodec());
                            ch.pipeline().addLast(new HttpObjectAggregator(64 * 1024));
                            ch.pipeline().addLast(new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig
                                    .newBuilder().webSocketUri(wsUri).maxFramePayloadLength(1 << 20)
                                    .handshakeTimeoutMillis(timeout.toMillis()).withUTF8Validator(false).build()));
                        }
                        ch.pipeline().addLast(s);
                    }
                });
                // one at a time: a burst of 1000 SYNs could overflow the gateway's accept backlog
                ChannelFuture f = b.connect(host, port);
                if (!f.awaitUninterruptibly(timeout.toMillis()) || !f.isSuccess()) {
                    throw new BenchException("subscriber " + i + " could not connect to the gateway at " + host + ":"
                            + port + ": " + (f.cause() == null ? "timed out" : f.cause()), f.cause());
                }
                channels.add(f.channel());
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Sub s : subs) {
                Waits.await(s.started, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())),
                        "subscriber " + s.index + " subscribed through the gateway (" + protocol.label() + ")");
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** {@code threads} event loops named {@code bench-subscribers}, epoll when available. */
    static EventLoopGroup newEventLoopGroup(int threads) {
        IoHandlerFactory factory = Epoll.isAvailable() ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("bench-subscribers", true), factory);
    }

    /** Messages each subscriber received so far. */
    long[] snapshot() {
        long[] out = new long[subs.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = subs[i].received;
        }
        return out;
    }

    /** Messages the slowest subscriber received. */
    long slowest() {
        long min = Long.MAX_VALUE;
        for (Sub s : subs) {
            min = Math.min(min, s.received);
        }
        return min;
    }

    @Override
    public void close() {
        closing = true;
        for (Channel c : channels) {
            c.close();
        }
        if (ownGroup) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        } else {
            for (Channel c : channels) {
                c.closeFuture().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
    }

    /** One subscriber: its connection's last handler, confined to the event loop but for {@link #received}. */
    private final class Sub extends ChannelInboundHandlerAdapter {
        final int index;
        final String hostPort;
        final CompletableFuture<Void> started = new CompletableFuture<>();
        /** Written by the event loop only, read by the measuring thread. */
        volatile long received;
        private long lastSeq = -1;
        /** SSE: the line being read (only its start matters: a sequence, a stamp, an error's first bytes). */
        private final byte[] line = new byte[256];
        private int lineLength;
        private boolean errorEvent;
        private long readNanos;

        /** The start of this subscriber's message frames, up to the sequence's digits. */
        private final ByteBuf messagePrefix;

        Sub(int index, String hostPort) {
            this.index = index;
            this.hostPort = hostPort;
            this.messagePrefix = Unpooled.copiedBuffer("{\"type\":\"message\",\"id\":\"s" + index + "\",\"stream\":\""
                    + stream + "\",\"seq\":", StandardCharsets.UTF_8);
        }

        /**
         * WS, raw: passes the handshake's bytes to the HTTP codec; once it completed, parses the
         * server's frames (unmasked, RFC 6455 §5.2) in place and answers pings, so that at a million
         * messages a second the load generator costs little. Only whole text frames are expected.
         */
        final class WsDecoder extends ByteToMessageDecoder {
            volatile boolean raw;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                if (!raw) {
                    ctx.fireChannelRead(msg);
                    return;
                }
                readNanos = System.nanoTime();
                super.channelRead(ctx, msg);
            }

            @Override
            protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                while (in.readableBytes() >= 2) {
                    int r = in.readerIndex();
                    int b0 = in.getUnsignedByte(r);
                    int b1 = in.getUnsignedByte(r + 1);
                    long length = b1 & 0x7F;
                    int header = 2;
                    if (length == 126) {
                        if (in.readableBytes() < 4) {
                            return;
                        }
                        length = in.getUnsignedShort(r + 2);
                        header = 4;
                    } else if (length == 127) {
                        if (in.readableBytes() < 10) {
                            return;
                        }
                        length = in.getLong(r + 2);
                        header = 10;
                    }
                    if ((b1 & 0x80) != 0 || length > Integer.MAX_VALUE - header) {
                        fail("a masked or impossible frame from the gateway");
                        in.skipBytes(in.readableBytes());
                        return;
                    }
                    if (in.readableBytes() < header + length) {
                        return;
                    }
                    int from = r + header;
                    int end = from + (int) length;
                    switch (b0 & 0x0F) {
                        case 0x1 -> {
                            if ((b0 & 0x80) == 0) {
                                fail("a fragmented text frame");
                            } else {
                                onFrame(in, from, end);
                            }
                        }
                        case 0x9 -> ctx.channel().writeAndFlush(new PongWebSocketFrame(in.retainedSlice(from, end - from)));
                        case 0x8 -> {
                            if (!closing) {
                                fail("the gateway closed the WebSocket");
                            }
                        }
                        default -> { } // pong, binary: not used by the gateway
                    }
                    in.readerIndex(end);
                }
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (protocol == Protocol.SSE) {
                ctx.writeAndFlush(Unpooled.copiedBuffer("GET /v1/streams/" + stream + "/events?from=end HTTP/1.1\r\n"
                        + "Host: " + hostPort + "\r\nAccept: text/event-stream\r\n\r\n", StandardCharsets.US_ASCII));
            }
            ctx.fireChannelActive();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                ctx.pipeline().get(WsDecoder.class).raw = true; // the frames that follow are parsed in place
                ctx.writeAndFlush(new TextWebSocketFrame("{\"op\":\"subscribe\",\"id\":\"s" + index + "\",\"stream\":\""
                        + stream + "\",\"from\":\"end\"}"));
            } else if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
                fail("the WebSocket handshake timed out");
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            // SSE and WS bytes are parsed by the decoders in front: nothing else arrives here
            ReferenceCountUtil.release(msg);
        }

        /**
         * SSE, raw: the response head, then the chunked body parsed in place (no HTTP codec: at a
         * million events a second the load generator must cost little). One SSE line at a time is
         * handed to {@link #onLine}; a line cut by a chunk boundary is assembled in {@link #line}.
         */
        final class SseDecoder extends ByteToMessageDecoder {
            private static final int HEAD = 0;
            private static final int SIZE = 1;
            private static final int DATA = 2;
            private static final int DATA_END = 3;
            private int state = HEAD;
            private int remaining;

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                readNanos = System.nanoTime();
                super.channelRead(ctx, msg);
            }

            @Override
            protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                while (true) {
                    int from = in.readerIndex();
                    int end = in.writerIndex();
                    switch (state) {
                        case HEAD -> {
                            int blank = ByteBufUtil.indexOf(HEAD_END, in);
                            if (blank < 0) {
                                return;
                            }
                            String head = in.toString(from, blank - from, StandardCharsets.US_ASCII);
                            if (!head.startsWith("HTTP/1.1 200")) {
                                fail("the gateway answered the SSE request with " + head.lines().findFirst().orElse(""));
                                return;
                            }
                            if (!head.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked")) {
                                fail("the SSE response is not chunked: " + head);
                                return;
                            }
                            in.readerIndex(blank + HEAD_END.readableBytes());
                            started.complete(null);
                            state = SIZE;
                        }
                        case SIZE -> {
                            int lf = in.indexOf(from, end, (byte) '\n');
                            if (lf < 0) {
                                return;
                            }
                            int size = 0;
                            for (int i = from; i < lf; i++) {
                                int d = Character.digit(in.getByte(i), 16);
                                if (d < 0) {
                                    break; // CR or a chunk extension
                                }
                                size = size * 16 + d;
                            }
                            in.readerIndex(lf + 1);
                            if (size == 0) {
                                if (!closing) {
                                    fail("the gateway ended the SSE response");
                                }
                                state = -1;
                                return;
                            }
                            remaining = size;
                            state = DATA;
                        }
                        case DATA -> {
                            int stop = Math.min(end, from + remaining);
                            int i = from;
                            while (i < stop) {
                                int lf = in.indexOf(i, stop, (byte) '\n');
                                if (lf < 0) {
                                    if (stop - from == remaining) { // the chunk ends inside a line
                                        append(in, i, stop - i);
                                        i = stop;
                                    }
                                    break;
                                }
                                if (lineLength > 0) {
                                    append(in, i, lf - i);
                                    onLine(Unpooled.wrappedBuffer(line, 0, lineLength), 0, lineLength);
                                    lineLength = 0;
                                } else {
                                    onLine(in, i, lf - i);
                                }
                                i = lf + 1;
                            }
                            in.readerIndex(i);
                            remaining -= i - from;
                            if (remaining > 0) {
                                return; // the rest of the chunk (or of a line) is still to come
                            }
                            state = DATA_END;
                        }
                        case DATA_END -> {
                            if (end - from < 2) {
                                return;
                            }
                            in.skipBytes(2);
                            state = SIZE;
                        }
                        default -> {
                            in.skipBytes(end - from);
                            return;
                        }
                    }
                }
            }
        }

        private void append(ByteBuf b, int from, int n) {
            int take = Math.min(n, line.length - lineLength);
            b.getBytes(from, line, lineLength, take);
            lineLength += take;
        }

        /** SSE: one line (without its LF) at {@code b[from, from + n)}. */
        private void onLine(ByteBuf b, int from, int n) {
            if (n > 0 && b.getByte(from + n - 1) == '\r') {
                n--;
            }
            int end = from + n;
            if (startsWith(b, from, end, DATA)) {
                if (errorEvent) {
                    fail("wirebus-error event: " + b.toString(from + DATA.length, n - DATA.length, StandardCharsets.UTF_8));
                    return;
                }
                if (n < DATA.length + Producer.TEXT_DIGITS) {
                    fail("an event's data is shorter than the stamp: " + b.toString(from, n, StandardCharsets.UTF_8));
                    return;
                }
                delivered(digits(b, from + DATA.length, Producer.TEXT_DIGITS));
            } else if (startsWith(b, from, end, ID)) {
                sequence(digits(b, from + ID.length, n - ID.length));
            } else if (startsWith(b, from, end, ERROR_EVENT)) {
                errorEvent = true;
            }
        }

        /** WS: one whole text frame's payload at {@code buf[from, end)}. */
        private void onFrame(ByteBuf buf, int from, int end) {
            int p = messagePrefix.readableBytes();
            if (end - from > p && ByteBufUtil.equals(buf, from, messagePrefix, 0, p)) {
                // the gateway's own layout: {"type":"message","id":"sN","stream":"S","seq":N,"data":"<stamp>...
                int seqEnd = buf.indexOf(from + p, end, (byte) ',');
                int d = seqEnd + WS_DATA.length + 1;
                if (seqEnd < 0 || d + Producer.TEXT_DIGITS > end
                        || !ByteBufUtil.equals(buf, seqEnd + 1, WS_DATA_BUF, 0, WS_DATA.length)) {
                    fail("unexpected message frame: " + buf.toString(from, end - from, StandardCharsets.UTF_8));
                    return;
                }
                sequence(digits(buf, from + p, seqEnd - from - p));
                delivered(digits(buf, d, Producer.TEXT_DIGITS));
                return;
            }
            if (startsWith(buf, from, end, WS_MESSAGE)) {
                fail("a message frame not laid out as the gateway writes them: "
                        + buf.toString(from, end - from, StandardCharsets.UTF_8));
            } else if (startsWith(buf, from, end, WS_SUBSCRIBED)) {
                started.complete(null);
            } else {
                String text = buf.toString(from, end - from, StandardCharsets.UTF_8);
                if (text.contains("\"type\":\"error\"")) {
                    fail("error frame: " + text);
                }
            }
        }

        private void sequence(long seq) {
            if (lastSeq >= 0 && seq != lastSeq + 1) {
                fail("sequence " + seq + " after " + lastSeq + " (a gap or a repeat)");
            }
            lastSeq = seq;
        }

        private void delivered(long stamp) {
            latency.recordValue(Math.max(0, Math.min(readNanos - stamp, Sample.HIGHEST_NANOS)));
            received++; // one writer: the event loop
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!closing) {
                fail("the gateway closed the connection");
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!closing) {
                fail("connection failed: " + cause);
            }
            ctx.close();
        }

        private void fail(String why) {
            BenchException e = new BenchException(protocol.label() + " subscriber " + index + ": " + why);
            started.completeExceptionally(e);
            if (!closing) {
                load.fail(e);
            }
        }
    }

    private static boolean startsWith(ByteBuf b, int from, int end, byte[] prefix) {
        if (end - from < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (b.getByte(from + i) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static long digits(ByteBuf b, int from, int n) {
        long v = 0;
        for (int i = from; i < from + n; i++) {
            int d = b.getByte(i) - '0';
            if (d < 0 || d > 9) {
                throw new BenchException("not a digit in '" + b.toString(from, n, StandardCharsets.UTF_8) + "'");
            }
            v = v * 10 + d;
        }
        return v;
    }
}
