package io.flotilla.spi;

import io.flotilla.Member;
import io.flotilla.wire.Frame;
import java.io.IOException;

/**
 * A lane: a connection to one member that one sending thread at a time holds for a synchronous message, writing it
 * and reading the answer itself, with no I/O thread between (stock Tribes' pooled sender works this way: a
 * synchronous round trip then wakes one thread on each side, not three). The peer answers every message that arrives
 * on a lane on that lane, once: a {@code RECEIVED} one with an {@code ACK} at or past it, a {@code PROCESSED} one with
 * its {@code RESULT}; it sends nothing else on it and never sends its own messages over it.
 *
 * <p>Threading: one thread at a time, the one the transport handed it to ({@link Transport#lane}) or one that thread
 * handed it on to; {@link #close()} is safe from any thread and makes a blocked {@link #read} fail.
 */
public interface PeerLane {
    /**
     * Frames larger than this never go on a lane: a lane carries one message at a time, so a write this small goes
     * into an empty socket buffer and never blocks on a peer that stopped reading.
     */
    int MAX_FRAME_BYTES = 16 * 1024;

    /** The member at the other end. */
    Member remote();

    /**
     * Writes {@code frame} from the calling thread, blocking until the kernel took it all.
     *
     * @throws IOException the lane broke; it is closed
     */
    void write(Frame frame) throws IOException;

    /**
     * The next frame the peer sent, waiting at most {@code timeoutNanos} for its first byte; with {@code timeoutNanos}
     * 0, only one whose first bytes already arrived.
     *
     * @return the frame, or null when none came in time
     * @throws IOException the lane broke, was closed, or the peer sent something a lane does not carry; it is closed
     */
    Frame read(long timeoutNanos) throws IOException;

    /**
     * Gives the lane back to its transport for the next synchronous message. Only when every message written on it
     * was answered and the answer read: anything else must {@link #close()} it.
     */
    void release();

    /** Closes the lane. Idempotent; any thread. */
    void close();
}
