/**
 * The wirebus binary protocol: {@link dev.wirebus.protocol.Frame} types, their codec, and the
 * numbered {@link dev.wirebus.protocol.ErrorCode}s. {@code docs/protocol.md} is the specification;
 * {@code docs/protocol-vectors.json} holds byte-exact examples that this codec's tests check.
 *
 * <pre>{@code
 * ChannelPipeline p = channel.pipeline();
 * p.addLast(new FrameDecoder(FrameCodec.DEFAULT_MAX_FRAME_LENGTH));
 * p.addLast(new FrameEncoder());
 * }</pre>
 */
package dev.wirebus.protocol;
