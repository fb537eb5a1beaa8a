package dev.wirebus.server.internal;

import dev.wirebus.protocol.ErrorCode;
import dev.wirebus.protocol.Frame;
import dev.wirebus.protocol.FrameDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Keeps one connection within the broker's limits. It sits between the frame decoder and the
 * connection handler, and {@link #outputCap()} sits first in the pipeline, where it sees the
 * encoded bytes on their way to the socket:
 * <ul>
 * <li><b>Output budget.</b> Once the bytes queued for the client pass the write-buffer high-water
 * mark (the channel is not writable), the frames it sends next are held and the socket is not read
 * until the queue drains below the low-water mark. A queue that stays above the mark for the
 * slow-consumer timeout, or an answer that would take it past the hard cap, closes the connection
 * with SLOW_CONSUMER.</li>
 * <li><b>Frame read deadline.</b> A frame must complete within the frame read timeout of its
 * first byte (reading paused by the broker does not count), else READ_TIMEOUT.</li>
 * <li><b>Partial-frame budget.</b> A frame in progress reserves its announced length in the
 * broker-wide {@link PartialFrameBudget}; a large one that does not fit closes the connection with
 * FRAME_TOO_LARGE.</li>
 * <li><b>Idle timeout.</b> A connection with nothing open and no frame received for the idle
 * timeout is closed with READ_TIMEOUT.</li>
 * </ul>
 * Each such close is counted in {@code wirebus.connections.closed} by reason. The ERROR goes out
 * behind what is already queued; a client that does not read it within the slow-consumer timeout
 * is cut without it. Reading is paused through {@link #pauseReading}/{@link #resumeReading} by
 * every part that pauses it, so that one part does not resume what another paused. Event loop only.
 */
public final class ConnectionGuard extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(ConnectionGuard.class);

    /** Reading paused because the output is above its high-water mark. */
    static final int PAUSE_OUTPUT = 1;
    /** Reading paused because too many publishes wait for their acknowledgement. */
    static final int PAUSE_ACKS = 2;

    private final BrokerContext broker;
    private final BrokerMetrics metrics;
    private final FrameDecoder decoder;
    private final BooleanSupplier idle;
    private final long slowNanos;
    private final long frameNanos;
    private final long idleNanos;
    private final long maxOutput;
    private ChannelHandlerContext ctx;
    private Channel channel;
    private int pauses;
    /** Frames read while the output was over budget, served once it drains. */
    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private boolean drainScheduled;
    /** Closing by a limit: nothing more is read or written but the ERROR. */
    private boolean stopped;
    private boolean passError;
    private ScheduledFuture<?> slowTimer;
    private ScheduledFuture<?> frameTimer;
    private long framesRead;
    private long framesAtFrameTimer;
    private long reserved;
    private ScheduledFuture<?> idleTimer;
    private long lastFrameNanos;

    /**
     * @param idle whether the connection has nothing open (no subscription, responder, call or
     *             publish in flight) and may be closed once idle long enough
     */
    public ConnectionGuard(BrokerContext broker, FrameDecoder decoder, BooleanSupplier idle) {
        this.broker = broker;
        this.metrics = broker.metrics();
        this.decoder = decoder;
        this.idle = idle;
        this.slowNanos = broker.config().slowConsumerTimeout().toNanos();
        this.frameNanos = broker.config().frameReadTimeout().toNanos();
        this.idleNanos = broker.config().idleTimeout().toNanos();
        this.maxOutput = broker.config().maxOutputBytes();
    }

    /** The handler to put first in the pipeline: the hard cap on queued output. */
    public ChannelOutboundHandlerAdapter outputCap() {
        return new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext c, Object msg, ChannelPromise promise) {
                if (stopped) {
                    if (passError) {
                        passError = false;
                        c.write(msg, promise);
                    } else {
                        ReferenceCountUtil.release(msg);
                        promise.tryFailure(new ClosedChannelException());
                    }
                    return;
                }
                long size = msg instanceof ByteBuf b ? b.readableBytes()
                        : msg instanceof ByteBufHolder h ? h.content().readableBytes() : 0;
                if (size > 0 && queued() + size > maxOutput) {
                    long queued = queued();
                    ReferenceCountUtil.release(msg);
                    promise.tryFailure(new ClosedChannelException());
                    closeFor(BrokerMetrics.Closure.OUTPUT_CAP, ErrorCode.SLOW_CONSUMER, "the client left "
                            + queued + " bytes unread and an answer of " + size + " bytes would pass the cap of "
                            + maxOutput + " bytes per connection");
                    return;
                }
                c.write(msg, promise);
            }
        };
    }

    private long queued() {
        ChannelOutboundBuffer out = channel.unsafe().outboundBuffer();
        return out == null ? 0 : out.totalPendingWriteBytes();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.channel = ctx.channel();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        lastFrameNanos = System.nanoTime();
        if (idleNanos > 0) {
            idleTimer = ctx.executor().schedule(this::checkIdle, idleNanos, TimeUnit.NANOSECONDS);
        }
        ctx.fireChannelActive();
    }

    // ---------------------------------------------------------------- reading

    /** Stops reading the socket for {@code reason} (one of the PAUSE_ bits). */
    void pauseReading(int reason) {
        if (pauses == 0) {
            channel.config().setAutoRead(false);
        }
        pauses |= reason;
    }

    /** Lifts {@code reason}; the socket is read again once no reason is left. */
    void resumeReading(int reason) {
        if ((pauses & reason) == 0) {
            return;
        }
        pauses &= ~reason;
        if (pauses == 0 && !stopped) {
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (stopped) {
            ReferenceCountUtil.release(msg);
            return;
        }
        framesRead++;
        lastFrameNanos = System.nanoTime();
        if (!held.isEmpty() || (pauses & PAUSE_OUTPUT) != 0) {
            held.add(msg);
            return;
        }
        ctx.fireChannelRead(msg);
        checkOutput();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!stopped) {
            checkPartialFrame();
        }
        ctx.fireChannelReadComplete();
    }

    /** After a frame was served: past the high-water mark, hold what comes next and stop reading. */
    private void checkOutput() {
        if (!channel.isWritable() && (pauses & PAUSE_OUTPUT) == 0 && !stopped) {
            pauseReading(PAUSE_OUTPUT);
            startSlowTimer();
        }
    }

    private void startSlowTimer() {
        if (slowTimer == null) {
            slowTimer = ctx.executor().schedule(this::slowTimeout, slowNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void slowTimeout() {
        slowTimer = null;
        if (stopped || channel.isWritable()) {
            return;
        }
        closeFor(BrokerMetrics.Closure.SLOW_CONSUMER, ErrorCode.SLOW_CONSUMER, "the client left " + queued()
                + " bytes unread, above the output budget of " + broker.config().outputHighWater() + " bytes, for "
                + TimeUnit.NANOSECONDS.toMillis(slowNanos) + " ms");
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable()) {
            if (slowTimer != null) {
                slowTimer.cancel(false);
                slowTimer = null;
            }
            if ((pauses & PAUSE_OUTPUT) != 0 && !drainScheduled) {
                // not from inside this flush: the handler after us may be flushing right now
                drainScheduled = true;
                ctx.executor().execute(this::drainHeld);
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** Serves the frames held while over budget, as long as the output stays below its mark. */
    private void drainHeld() {
        drainScheduled = false;
        while (!stopped && !held.isEmpty() && channel.isWritable()) {
            while (!stopped && !held.isEmpty() && channel.isWritable()) {
                ctx.fireChannelRead(held.poll());
            }
            ctx.fireChannelReadComplete(); // the handler flushes at the end of a read burst
        }
        if (stopped) {
            return;
        }
        if (held.isEmpty() && channel.isWritable()) {
            resumeReading(PAUSE_OUTPUT);
        } else {
            startSlowTimer(); // the next writability change drains on
        }
    }

    // ---------------------------------------------------------------- partial frames

    /** After a read: the frame in progress reserves its length and must complete within the deadline. */
    private void checkPartialFrame() {
        int pending = decoder.pendingBytes();
        long want = 0;
        if (pending > 0) {
            want = Math.max(pending, decoder.partialFrameLength());
        }
        if (want != reserved) {
            if (!broker.partialFrames().change(reserved, want)) {
                PartialFrameBudget budget = broker.partialFrames();
                closeFor(BrokerMetrics.Closure.PARTIAL_FRAME_BUDGET, ErrorCode.FRAME_TOO_LARGE, "a frame of " + want
                        + " bytes does not fit the broker's budget for frames in progress now ("
                        + budget.reserved() + " of " + budget.budget() + " bytes taken; frames up to "
                        + PartialFrameBudget.ALWAYS_ADMITTED + " bytes are always taken)");
                return;
            }
            reserved = want;
        }
        if (pending == 0) {
            if (frameTimer != null) {
                frameTimer.cancel(false);
                frameTimer = null;
            }
        } else if (frameTimer == null) {
            startFrameTimer();
        }
    }

    private void startFrameTimer() {
        framesAtFrameTimer = framesRead;
        frameTimer = ctx.executor().schedule(this::frameTimeout, frameNanos, TimeUnit.NANOSECONDS);
    }

    private void frameTimeout() {
        frameTimer = null;
        if (stopped || decoder.pendingBytes() == 0) {
            return;
        }
        if (framesRead != framesAtFrameTimer || pauses != 0) {
            // frames completed meanwhile (this one began later), or the broker was not reading: not the client's fault
            startFrameTimer();
            return;
        }
        long length = decoder.partialFrameLength();
        closeFor(BrokerMetrics.Closure.FRAME_TIMEOUT, ErrorCode.READ_TIMEOUT, "frame incomplete after "
                + TimeUnit.NANOSECONDS.toMillis(frameNanos) + " ms: " + decoder.pendingBytes() + " bytes received"
                + (length >= 0 ? " of a frame of " + length + " bytes" : ""));
    }

    // ---------------------------------------------------------------- idle

    private void checkIdle() {
        idleTimer = null;
        if (stopped || !channel.isActive()) {
            return;
        }
        long quiet = System.nanoTime() - lastFrameNanos;
        if (quiet >= idleNanos && decoder.pendingBytes() == 0 && idle.getAsBoolean()) {
            closeFor(BrokerMetrics.Closure.IDLE, ErrorCode.READ_TIMEOUT, "idle: no subscription, no responder,"
                    + " nothing in flight and no frame for " + TimeUnit.NANOSECONDS.toMillis(idleNanos) + " ms");
            return;
        }
        long next = quiet >= idleNanos ? idleNanos : idleNanos - quiet;
        idleTimer = ctx.executor().schedule(this::checkIdle, next, TimeUnit.NANOSECONDS);
    }

    // ---------------------------------------------------------------- closing

    private void closeFor(BrokerMetrics.Closure reason, ErrorCode code, String message) {
        if (stopped) {
            return;
        }
        stopped = true;
        metrics.closed(reason);
        metrics.error(code);
        log.info("closing connection {} of '{}' ({}): {}", channel, clientName(), code, message);
        for (Object o : held) {
            ReferenceCountUtil.release(o);
        }
        held.clear();
        cancelTimers();
        channel.config().setAutoRead(false);
        passError = true;
        channel.writeAndFlush(new Frame.Error(0, code, message)).addListener(ChannelFutureListener.CLOSE);
        passError = false;
        // the ERROR waits behind what the client left unread: do not wait for it longer than for the rest
        ctx.executor().schedule(() -> {
            channel.close();
        }, slowNanos, TimeUnit.NANOSECONDS);
    }

    private String clientName() {
        ConnectionHandler h = ctx.pipeline().get(ConnectionHandler.class);
        return h == null ? "" : h.clientName();
    }

    private void cancelTimers() {
        for (ScheduledFuture<?> t : new ScheduledFuture<?>[] {slowTimer, frameTimer, idleTimer}) {
            if (t != null) {
                t.cancel(false);
            }
        }
        slowTimer = null;
        frameTimer = null;
        idleTimer = null;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimers();
        stopped = true;
        for (Object o : held) {
            ReferenceCountUtil.release(o);
        }
        held.clear();
        if (reserved != 0) {
            broker.partialFrames().change(reserved, 0);
            reserved = 0;
        }
        ctx.fireChannelInactive();
    }
}
