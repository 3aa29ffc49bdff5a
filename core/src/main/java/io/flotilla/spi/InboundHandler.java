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
     * opened, before any {@link #onFrame} of that connection; never for probe connections.
     */
    void onConnected(PeerConnection connection);

    /** A protocol frame ({@code DATA}, {@code ACK}, {@code RESULT}, {@code SYNC}) arrived on a connection. */
    void onFrame(PeerConnection connection, Frame frame);

    /**
     * The transport has no more frames ready on this connection for now: a good moment to flush acks. Never called
     * for probe connections.
     */
    void onReadComplete(PeerConnection connection);

    /**
     * A handshaken connection closed. Never called for probe connections (see {@link Transport#probe}).
     *
     * @param reason {@link Disconnect#LEAVING} when the peer said goodbye because it leaves the cluster,
     *     {@link Disconnect#CLOSED} when either side closed it on purpose, {@link Disconnect#LOST} otherwise
     */
    void onDisconnected(PeerConnection connection, Disconnect reason);

    /**
     * Frames that could not be sent to {@code member}: the connection failed and reconnection did not succeed.
     *
     * @param cause has a {@link java.net.ConnectException} in its cause chain when no TCP connection could be made
     *     to the member's address at all (refused, or no answer within the connect timeout), which the node takes
     *     as a sign that the member crashed; a handshake the peer failed or refused must not carry one
     */
    void onSendFailed(Member member, Throwable cause);

    /**
     * A probe from {@code prober} finished its handshake on a connection it opened to this node (with the cluster
     * secret proved, when one is set): {@code prober} is verifying this node, typically because it just started.
     * Raises no connection event; the default does nothing.
     */
    default void onProbed(Member prober) {
    }
}
