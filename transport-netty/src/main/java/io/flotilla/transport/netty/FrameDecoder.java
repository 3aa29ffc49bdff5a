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
 * leaves the pipeline. A run of small frames already received whole is copied out in one step into one array
 * that their payloads share ({@link #decodeRun}). A header that fails the check is passed on as its {@link WireException}, after which the
 * decoder discards everything else the connection sends.
 *
 * <p>Threading: one instance per channel, used only on its event loop.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    /** Frames handed on per {@link #decode} call; {@code ByteToMessageDecoder} calls again for the rest. */
    private static final int MAX_RUN_FRAMES = 64;
    /** The most bytes one shared array of a run of small frames holds. */
    private static final int RUN_BYTES = 64 * 1024;
    /** Frames with larger payloads always get an array of their own. */
    private static final int RUN_PAYLOAD_BYTES = 8 * 1024;

    private final ByteBuffer headerBytes = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
    private int maxFrameBytes;
    private FrameCodec.Header header;
    private boolean failed;
    /**
     * Until the handshake raises the limit: one frame per {@link #decode} call. The frame that completes the
     * handshake then reaches the handshake handler, which raises the limit, before the next header is checked: a
     * peer that sends a large frame right behind its last handshake frame, in the same read, is not refused by the
     * handshake's limit.
     */
    private boolean handshaking = true;

    FrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
        // Frames are copied out of the cumulation anyway; composing reads instead of merging them saves copying
        // every byte that follows a frame cut by a read boundary (nearly every read under load).
        setCumulator(COMPOSITE_CUMULATOR);
    }

    /** Sets the frame limit once the handshake is done. Event loop only. */
    void maxFrameBytes(int limit) {
        maxFrameBytes = limit;
        handshaking = false;
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
                if (!handshaking && decodeRun(in, out)) {
                    if (out.size() >= MAX_RUN_FRAMES) {
                        return;
                    }
                    continue;
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
            if (handshaking || out.size() >= MAX_RUN_FRAMES) {
                // Hand frames on in bounded groups; ByteToMessageDecoder calls decode again for the rest.
                return;
            }
        }
        in.skipBytes(in.readableBytes());
    }

    /**
     * Takes a run of at least two complete small frames from the start of {@code in} with one copy into one array,
     * and returns false (taking nothing) when there is no such run. Only bytes already received are copied, so the
     * allocation is bounded by the input, as on the one-frame path; each header is then checked by
     * {@link FrameCodec#readHeader} before its frame is handed on, and a bad one ends decoding as there. The
     * frames' payloads are slices of the shared array: a listener that keeps one keeps at most
     * {@link #RUN_BYTES}.
     */
    private boolean decodeRun(ByteBuf in, List<Object> out) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        int pos = start;
        int frames = 0;
        while (end - pos >= FrameCodec.HEADER_BYTES && frames < MAX_RUN_FRAMES - out.size()) {
            int length = in.getInt(pos + FrameCodec.LENGTH_OFFSET);
            int whole = FrameCodec.HEADER_BYTES + length;
            if (length < 0 || length > RUN_PAYLOAD_BYTES || end - pos < whole || pos - start + whole > RUN_BYTES) {
                break;
            }
            pos += whole;
            frames++;
        }
        if (frames < 2) {
            return false;
        }
        byte[] run = new byte[pos - start];
        in.readBytes(run);
        ByteBuffer view = ByteBuffer.wrap(run);
        int offset = 0;
        for (int i = 0; i < frames; i++) {
            view.limit(offset + FrameCodec.HEADER_BYTES).position(offset);
            FrameCodec.Header h;
            try {
                h = FrameCodec.readHeader(view, maxFrameBytes);
            } catch (WireException e) {
                discardInput();
                in.skipBytes(in.readableBytes());
                out.add(e);
                return true;
            }
            offset += FrameCodec.HEADER_BYTES;
            out.add(h.withPayload(ByteBuffer.wrap(run, offset, h.payloadLength()).slice()));
            offset += h.payloadLength();
        }
        return true;
    }
}
