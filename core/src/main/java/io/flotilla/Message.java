package io.flotilla;

import java.nio.ByteBuffer;

/**
 * A message delivered to a {@link MessageListener}.
 *
 * <p>Threading: immutable; the payload buffer is read-only and belongs to the receiver.
 *
 * @param from the sending member
 * @param topic the topic it was sent on (0-255)
 * @param delivery the guarantee the sender asked for
 * @param payload the bytes sent, read-only
 */
public record Message(Member from, int topic, Delivery delivery, ByteBuffer payload) {
    /** A copy of the payload as an array. */
    public byte[] payloadBytes() {
        ByteBuffer b = payload.duplicate();
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return bytes;
    }
}
