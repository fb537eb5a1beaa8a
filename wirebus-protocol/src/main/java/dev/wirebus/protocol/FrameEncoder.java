package dev.wirebus.protocol;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;

import java.util.List;

/**
 * Netty outbound handler that encodes {@link Frame}s with {@link FrameCodec}. Large record batches
 * are written from the batch's own memory, not copied.
 *
 * <pre>{@code
 * pipeline.addLast(new FrameDecoder(max), new FrameEncoder(), handler);
 * channel.writeAndFlush(new Frame.Ping(1));
 * }</pre>
 *
 * <p>Frames whose format depends on the protocol version are written in the channel's negotiated
 * version ({@link FrameCodec#VERSION}, 1 until set). Stateless, so one instance may be shared by all
 * channels.
 */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToMessageEncoder<Frame> {
    public FrameEncoder() {
        super(Frame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Frame frame, List<Object> out) {
        out.add(FrameCodec.encode(frame, ctx.alloc(), FrameCodec.version(ctx.channel())));
    }
}
