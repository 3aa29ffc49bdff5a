package io.flotilla.spi;

import io.flotilla.Member;
import io.flotilla.wire.Frame;

/**
 * What the transport calls when something arrives. Implemented by the protocol engine in core.
 *
 * <p>Threading: called on the transport's I/O threads, concurrently for different connections and in order for
 * one connection. Implementations never block and never run user code on the calling thread.
 */
public interface InboundHandler {
    /**
     * A connection finished its handshake. Called for connections the peer opened and for ones this node
     * opened, before any {@link #onFrame} of that connection.
     */
    void onConnected(PeerConnection connection);

    /** A protocol frame ({@code DATA}, {@code ACK}, {@code RESULT}, {@code SYNC}) arrived on a connection. */
    void onFrame(PeerConnection connection, Frame frame);

    /** The transport has no more frames ready on this connection for now: a good moment to flush acks. */
    void onReadComplete(PeerConnection connection);

    /**
     * A connection closed.
     *
     * @param graceful true when the peer sent {@code GOODBYE} before closing (a clean leave); false for a crash,
     *     a reset, or a protocol error
     */
    void onDisconnected(PeerConnection connection, boolean graceful);

    /** Frames that could not be sent to {@code member}: the connection failed and reconnection did not succeed. */
    void onSendFailed(Member member, Throwable cause);
}
