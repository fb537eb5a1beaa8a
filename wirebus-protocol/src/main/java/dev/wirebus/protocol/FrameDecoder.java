package dev.wirebus.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Netty inbound handler that splits the byte stream into frames and decodes each into a
 * {@link Frame}. A length prefix above the maximum fails at once, before the body arrives, with
 * {@link ErrorCode#FRAME_TOO_LARGE}; after the first {@link ProtocolException} the decoder
 * discards all further input, since the connection is going to be closed.
 *
 * <pre>{@code
 * pipeline.addLast(new FrameDecoder(FrameCodec.DEFAULT_MAX_FRAME_LENGTH), new FrameEncoder(), handler);
 * }</pre>
 *
 * <p>Frames whose format depends on the protocol version are read in the channel's negotiated
 * version ({@link FrameCodec#VERSION}, 1 until set); decoding pauses after a HELLO or WELCOME so
 * the handshake is handled before the frames after it are decoded. Not sharable: one instance per
 * channel.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameLength;
    private boolean failed;

    public FrameDecoder(int maxFrameLength) {
        if (maxFrameLength < FrameCodec.HEADER_LENGTH) {
            throw new IllegalArgumentException("maxFrameLength " + maxFrameLength + " is below the header length");
        }
        this.maxFrameLength = maxFrameLength;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= FrameCodec.LENGTH_FIELD_LENGTH) {
            int start = in.readerIndex();
            long length = in.getUnsignedInt(start);
            if (length > maxFrameLength) {
                fail(in, new ProtocolException(ErrorCode.FRAME_TOO_LARGE, 0,
                        "frame length " + length + " exceeds the maximum " + maxFrameLength));
            }
            if (length < FrameCodec.HEADER_LENGTH) {
                fail(in, new ProtocolException(ErrorCode.MALFORMED_FRAME, 0,
                        "frame length " + length + " is shorter than the " + FrameCodec.HEADER_LENGTH + "-byte header"));
            }
            if (in.readableBytes() < FrameCodec.LENGTH_FIELD_LENGTH + length) {
                return;
            }
            ByteBuf body = in.slice(start + FrameCodec.LENGTH_FIELD_LENGTH, (int) length);
            in.skipBytes(FrameCodec.LENGTH_FIELD_LENGTH + (int) length);
            Frame frame;
            try {
                frame = FrameCodec.decode(body, FrameCodec.version(ctx.channel()));
            } catch (ProtocolException e) {
                fail(in, e);
                return;
            }
            out.add(frame);
            if (frame instanceof Frame.Hello || frame instanceof Frame.Welcome) {
                // the handshake sets the version the next frames are decoded in: let it be handled first
                return;
            }
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        decode(ctx, in, out);
        if (!failed && in.isReadable()) {
            int partial = in.readableBytes();
            String what = partial < FrameCodec.LENGTH_FIELD_LENGTH
                    ? partial + " bytes into a length prefix"
                    : partial + " bytes into a frame of length " + in.getUnsignedInt(in.readerIndex());
            fail(in, new ProtocolException(ErrorCode.MALFORMED_FRAME, 0, "input ended " + what));
        }
    }

    /** Bytes received that do not yet form a whole frame, while the channel is open (a frame cut by the end of input fails in {@link #decodeLast} instead). */
    public int pendingBytes() {
        return failed ? 0 : actualReadableBytes();
    }

    /**
     * The length announced by the frame being received (its length field, not counting the field
     * itself), or -1 when no frame is in progress or its length field is not complete yet.
     */
    public long partialFrameLength() {
        if (failed) {
            return -1;
        }
        ByteBuf in = internalBuffer();
        if (in.readableBytes() < FrameCodec.LENGTH_FIELD_LENGTH) {
            return -1;
        }
        return in.getUnsignedInt(in.readerIndex());
    }

    private void fail(ByteBuf in, ProtocolException e) {
        failed = true;
        in.skipBytes(in.readableBytes());
        throw e;
    }
}
