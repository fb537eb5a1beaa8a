package dev.wirebus.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {
    private static final int MAX = FrameCodec.DEFAULT_MAX_FRAME_LENGTH;

    private static byte[] bytes(Frame frame) {
        ByteBuf buf = FrameCodec.encode(frame, ByteBufAllocator.DEFAULT);
        try {
            byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            return b;
        } finally {
            buf.release();
        }
    }

    @Test
    void pendingBytesStillReportsAPartialFrameWhenLaterHandlersSeeTheConnectionEnd() {
        FrameDecoder decoder = new FrameDecoder(MAX);
        int[] seenAtInactive = {-1};
        EmbeddedChannel ch = new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                seenAtInactive[0] = decoder.pendingBytes();
                ctx.fireChannelInactive();
            }
        });
        byte[] ping = bytes(new Frame.Ping(5));
        byte[] input = new byte[ping.length + 7];
        System.arraycopy(ping, 0, input, 0, ping.length);
        System.arraycopy(ping, 0, input, ping.length, 7);

        ch.writeInbound(Unpooled.wrappedBuffer(input));
        assertThat((Frame) ch.readInbound()).isEqualTo(new Frame.Ping(5));
        assertThat(decoder.pendingBytes()).isEqualTo(7);

        ch.finish();
        assertThat(seenAtInactive[0]).isEqualTo(7);
        assertThat(decoder.pendingBytes()).isEqualTo(7);
    }

    @Test
    void pendingBytesIsZeroWhenTheConnectionEndsBetweenFrames() {
        FrameDecoder decoder = new FrameDecoder(MAX);
        int[] seenAtInactive = {-1};
        EmbeddedChannel ch = new EmbeddedChannel(decoder, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                seenAtInactive[0] = decoder.pendingBytes();
                ctx.fireChannelInactive();
            }
        });
        ch.writeInbound(Unpooled.wrappedBuffer(bytes(new Frame.Ping(5))));
        assertThat((Frame) ch.readInbound()).isEqualTo(new Frame.Ping(5));
        ch.finish();
        assertThat(seenAtInactive[0]).isZero();
    }
}
