package io.flotilla.transport.netty;

import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.WireException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Cuts the byte stream of one connection into {@link io.flotilla.wire.Frame}s. The header is decoded and checked
 * by {@link FrameCodec#readHeader} (magic, version, type, length against the current limit) before anything is
 * allocated for the payload; the payload is then copied into a heap {@link ByteBuffer} so no {@code ByteBuf}
 * leaves the pipeline. A header that fails the check is passed on as its {@link WireException}, after which the
 * decoder discards everything else the connection sends.
 *
 * <p>Threading: one instance per channel, used only on its event loop.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    private final ByteBuffer headerBytes = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
    private int maxFrameBytes;
    private FrameCodec.Header header;
    private boolean failed;

    FrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
        // Frames are copied out of the cumulation anyway; composing reads instead of merging them saves copying
        // every byte that follows a frame cut by a read boundary (nearly every read under load).
        setCumulator(COMPOSITE_CUMULATOR);
    }

    /** Raises (or lowers) the frame limit, e.g. once the handshake is done. Event loop only. */
    void maxFrameBytes(int limit) {
        maxFrameBytes = limit;
    }

    /** Bytes received but not yet part of a whole frame. Event loop only. */
    int bufferedBytes() {
        return actualReadableBytes() + (header == null ? 0 : FrameCodec.HEADER_BYTES);
    }

    /** Stops decoding: everything that follows is discarded. Event loop only. */
    void discardInput() {
        failed = true;
        header = null;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (!failed) {
            if (header == null) {
                if (in.readableBytes() < FrameCodec.HEADER_BYTES) {
                    return;
                }
                try {
                    // Into a reused heap buffer: no view object per frame over the (direct) cumulation buffer.
                    headerBytes.clear();
                    in.getBytes(in.readerIndex(), headerBytes);
                    headerBytes.flip();
                    header = FrameCodec.readHeader(headerBytes, maxFrameBytes);
                } catch (WireException e) {
                    discardInput();
                    in.skipBytes(in.readableBytes());
                    out.add(e);
                    return;
                }
                in.skipBytes(FrameCodec.HEADER_BYTES);
            }
            int length = header.payloadLength();
            if (in.readableBytes() < length) {
                return;
            }
            byte[] payload = new byte[length];
            in.readBytes(payload);
            out.add(header.withPayload(ByteBuffer.wrap(payload)));
            header = null;
            if (out.size() >= 64) {
                // Hand frames on in bounded groups; ByteToMessageDecoder calls decode again for the rest.
                return;
            }
        }
        in.skipBytes(in.readableBytes());
    }
}
