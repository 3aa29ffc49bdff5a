package io.flotilla.wire;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * The frame layout on every Flotilla TCP connection, big-endian:
 *
 * <pre>
 *  offset size field
 *   0     2   magic      0xF10A
 *   2     1   version    {@link #VERSION}
 *   3     1   type       {@link FrameType#code()}
 *   4     1   flags
 *   5     1   topic
 *   6     4   window     unsigned
 *  10     8   messageId
 *  18     4   length     payload bytes that follow, 0..maxFrameBytes-22
 *  22     ... payload
 * </pre>
 *
 * A reader decodes the 22-byte header first and checks magic, version, type and length before it allocates
 * anything for the payload.
 *
 * <p>Threading: stateless, safe from any thread.
 */
public final class FrameCodec {
    public static final int MAGIC = 0xF10A;
    public static final int VERSION = 1;
    public static final int HEADER_BYTES = 22;
    /** Offset of the length field inside the header. */
    public static final int LENGTH_OFFSET = 18;
    /** The smallest frame limit a node may configure: room for a handshake. */
    public static final int MIN_MAX_FRAME_BYTES = 4096;
    /** The limit before a connection finished its handshake: an unknown peer cannot make us allocate more. */
    public static final int HANDSHAKE_MAX_FRAME_BYTES = 4096;

    private FrameCodec() {
    }

    /** Writes the header of {@code frame} at the buffer's position and advances it by {@link #HEADER_BYTES}. */
    public static void writeHeader(Frame frame, ByteBuffer out) {
        out.putShort((short) MAGIC);
        out.put((byte) VERSION);
        out.put((byte) frame.type().code());
        out.put((byte) frame.flags());
        out.put((byte) frame.topic());
        out.putInt((int) frame.window());
        out.putLong(frame.messageId());
        out.putInt(frame.payloadLength());
    }

    /** The whole frame as one array (header and payload); for tests and non-hot paths. */
    public static byte[] encode(Frame frame) {
        ByteBuffer out = ByteBuffer.allocate(frame.encodedLength());
        writeHeader(frame, out);
        out.put(frame.payload().duplicate());
        return out.array();
    }

    /**
     * A decoded header, before the payload is read.
     *
     * @param type the frame type
     * @param flags flag bits
     * @param topic topic
     * @param window unsigned window
     * @param messageId message id
     * @param payloadLength payload bytes that follow
     */
    public record Header(FrameType type, int flags, int topic, long window, long messageId, int payloadLength) {
        /** The frame of this header with {@code payload}. */
        public Frame withPayload(ByteBuffer payload) {
            return new Frame(type, flags, topic, window, messageId, payload);
        }
    }

    /**
     * Decodes and checks a header from the next {@link #HEADER_BYTES} bytes of {@code in}.
     *
     * @param maxFrameBytes the largest whole frame allowed now
     * @throws WireException when magic, version, type or length is wrong, saying which and what was expected
     */
    public static Header readHeader(ByteBuffer in, int maxFrameBytes) {
        int magic = Short.toUnsignedInt(in.getShort());
        if (magic != MAGIC) {
            throw new WireException("bad_magic", String.format(Locale.ROOT,
                    "not a Flotilla frame: magic 0x%04X, expected 0x%04X (is a non-Flotilla client connecting?)",
                    magic, MAGIC));
        }
        int version = Byte.toUnsignedInt(in.get());
        if (version != VERSION) {
            throw new WireException("bad_version", "unsupported protocol version " + version
                    + ", this node speaks " + VERSION + ": run the same Flotilla version on all members");
        }
        int code = Byte.toUnsignedInt(in.get());
        FrameType type = FrameType.ofCode(code);
        if (type == null) {
            throw new WireException("bad_type", "unknown frame type " + code);
        }
        int flags = Byte.toUnsignedInt(in.get());
        int topic = Byte.toUnsignedInt(in.get());
        long window = Integer.toUnsignedLong(in.getInt());
        long messageId = in.getLong();
        int length = in.getInt();
        if (length < 0 || (long) length + HEADER_BYTES > maxFrameBytes) {
            throw new WireException("too_large", "frame of " + Integer.toUnsignedLong(length)
                    + " payload bytes exceeds the limit of " + (maxFrameBytes - HEADER_BYTES)
                    + " (maxFrameBytes=" + maxFrameBytes + ")");
        }
        return new Header(type, flags, topic, window, messageId, length);
    }
}
