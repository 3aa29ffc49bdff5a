package io.flotilla.spi;

/** Why a connection closed, as the transport tells the engine in {@link InboundHandler#onDisconnected}. */
public enum Disconnect {
    /** The peer said goodbye because its node is leaving the cluster: a graceful leave. */
    LEAVING,
    /** Closed on purpose by either side (a goodbye without leaving, or this node's own disconnect). */
    CLOSED,
    /** No goodbye: a crash, a reset, a timeout or a protocol error. The peer is suspect. */
    LOST
}
