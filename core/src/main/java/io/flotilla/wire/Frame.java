package io.flotilla.wire;

import io.flotilla.Delivery;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * One frame: the header fields and the payload. See {@link FrameCodec} for the layout.
 *
 * <p>Threading: immutable once built; the payload buffer must not be changed after the frame is handed to a
 * transport (it may be written to several connections at once, each through its own duplicate).
 *
 * @param type what the frame is
 * @param flags type-specific bits; for {@code DATA}, see {@link #DELIVERY_MASK}
 * @param topic the message topic for {@code DATA} (0-255), otherwise 0
 * @param window for {@code DATA}: sequence number minus the sender's low-water mark (0-2^32-1); otherwise 0
 * @param messageId the sequence number or nonce the type gives it
 * @param payload the payload bytes between position and limit
 * @param awaited not on the wire: true when a thread waits for this frame to arrive, so a transport may write it at
 *     once from the sending thread instead of batching it with others on its I/O thread (see
 *     {@link #Frame(FrameType, int, int, long, long, ByteBuffer)} for the default)
 */
public record Frame(FrameType type, int flags, int topic, long window, long messageId, ByteBuffer payload,
        boolean awaited) {
    /** The two low flag bits of a {@code DATA} frame carry the {@link io.flotilla.Delivery} ordinal. */
    public static final int DELIVERY_MASK = 0x03;
    /** A {@code DATA} frame sent again after a timeout or a broken connection. */
    public static final int FLAG_RETRANSMIT = 0x04;
    /**
     * On a {@code PROCESSED} {@code DATA} frame: its sender takes the message's {@code RESULT} as the cumulative
     * acknowledgement of everything up to it, so the receiver may leave out a separate {@code ACK} for it. A
     * receiver that does not know the bit ignores it and sends both, as before.
     */
    public static final int FLAG_RESULT_ACKS = 0x08;
    /**
     * On a {@code DATA} frame nobody waits for ({@code ASYNC}, or sent with {@code Node.sendQueued}): the receiver may
     * acknowledge it late, together with those that follow. A receiver that does not know the bit acknowledges it at
     * the end of the read that brought it, as before.
     */
    public static final int FLAG_LAZY_ACK = 0x10;
    /** On {@code GOODBYE}: the node is leaving the cluster (not merely closing this connection). */
    public static final int FLAG_LEAVING = 0x01;
    /** On {@code HELLO}: a liveness probe; the connection only answers {@code PING}. */
    static final int FLAG_PROBE = 0x01;
    /**
     * On {@code HELLO}: the connection is a lane, which one sending thread at a time uses for its synchronous
     * messages and reads the answers of itself; on {@code HELLO_ACK}: the accepting side knows lanes and answers every
     * message that arrives on one on that lane. See {@link io.flotilla.spi.PeerLane}.
     */
    static final int FLAG_LANE = 0x02;

    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    public Frame {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(payload, "payload");
        if (flags < 0 || flags > 0xFF) {
            throw new IllegalArgumentException("flags out of range: " + flags);
        }
        if (topic < 0 || topic > 0xFF) {
            throw new IllegalArgumentException("topic out of range 0-255: " + topic);
        }
        if (window < 0 || window > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("window out of range: " + window);
        }
    }

    /** A frame with no payload. */
    public static Frame control(FrameType type, long messageId) {
        return new Frame(type, 0, 0, 0, messageId, EMPTY);
    }

    /**
     * A frame {@link #awaited() awaited} when a sender usually waits for it: a {@code DATA} frame sent {@code RECEIVED}
     * or {@code PROCESSED}, or a {@code RESULT}.
     */
    public Frame(FrameType type, int flags, int topic, long window, long messageId, ByteBuffer payload) {
        this(type, flags, topic, window, messageId, payload, type == FrameType.RESULT
                || type == FrameType.DATA && (flags & DELIVERY_MASK) != Delivery.ASYNC.ordinal());
    }

    /** Payload length in bytes. */
    public int payloadLength() {
        return payload.remaining();
    }

    /** Header plus payload, in bytes. */
    public int encodedLength() {
        return FrameCodec.HEADER_BYTES + payload.remaining();
    }

    /** The payload as a new array. */
    public byte[] payloadBytes() {
        ByteBuffer b = payload.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }
}
