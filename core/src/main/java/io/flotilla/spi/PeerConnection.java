package io.flotilla.spi;

import io.flotilla.Member;
import io.flotilla.wire.Frame;

/**
 * One established, handshaken connection to a peer, as the transport hands it to the protocol engine.
 *
 * <p>Threading: every method is safe from any thread and never blocks.
 */
public interface PeerConnection {
    /** The member at the other end, as its handshake described it. */
    Member remote();

    /**
     * Queues a frame on this connection. Writes issued from one thread go out in the order issued. If the
     * connection is closed the frame is dropped: the engine learns of it through
     * {@link InboundHandler#onDisconnected}.
     */
    void send(Frame frame);

    /** Stops reading from this connection (inbound back-pressure) until {@link #resumeReading()}. */
    void pauseReading();

    void resumeReading();

    boolean isOpen();

    /**
     * True for a connection the peer opened as a {@link PeerLane}: each message that arrives on it is answered on it,
     * once (an {@code ACK} at or past it, or its {@code RESULT}), and nothing else is sent on it. Its end raises no
     * {@link InboundHandler#onDisconnected} (a lane closes whenever its sender no longer needs it).
     */
    default boolean lane() {
        return false;
    }
}
