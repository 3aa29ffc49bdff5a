package io.flotilla.bench;

import java.nio.ByteBuffer;

/**
 * The payload of every channel benchmark message, Flotilla and stock alike.
 *
 * <p>Layout (big-endian): {@code int stream} (one stream per sending thread), {@code long seq} (0, 1, 2, …
 * within the stream), then zero filler up to the benchmark's message size. The receiver checks the order
 * of each stream with {@link OrderTracker}.
 *
 * <p>Threading: stateless.
 */
final class ChannelPayload {

    /** Bytes taken by the header; the smallest message a benchmark may send. */
    static final int HEADER_BYTES = Integer.BYTES + Long.BYTES;

    private ChannelPayload() {
    }

    /** A fresh array of {@code size} bytes carrying {@code stream} and {@code seq}. */
    static byte[] create(int size, int stream, long seq) {
        if (size < HEADER_BYTES) {
            throw new IllegalArgumentException("message size must be at least " + HEADER_BYTES + " bytes, was " + size);
        }
        byte[] b = new byte[size];
        ByteBuffer.wrap(b).putInt(stream).putLong(seq);
        return b;
    }

    /** The stream id of a payload. */
    static int stream(byte[] b, int offset) {
        return ByteBuffer.wrap(b).getInt(offset);
    }

    /** The sequence number of a payload. */
    static long seq(byte[] b, int offset) {
        return ByteBuffer.wrap(b).getLong(offset + Integer.BYTES);
    }
}
