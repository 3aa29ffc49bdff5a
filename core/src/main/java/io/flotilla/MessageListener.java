package io.flotilla;

/**
 * Receives the messages of one topic.
 *
 * <p>Threading: the messages of one sender are delivered one at a time, in the order they were sent; messages of
 * different senders may be delivered concurrently on the node's delivery threads, never on an I/O thread unless the
 * listener takes a message there ({@link #inline}). An exception it throws is logged; for a {@link Delivery#PROCESSED}
 * message it is reported to the sender as a {@link RemoteProcessingException}. It never stops the node. A listener
 * that serves only part of its topic throws {@link MessageNotHandledException} for the messages that are not its own
 * (not an error, not logged).
 */
@FunctionalInterface
public interface MessageListener {
    void onMessage(Message message) throws Exception;

    /**
     * Whether {@link #onMessage} may take {@code message}, of any {@link Delivery}, on the I/O thread that read it.
     * The node asks when no earlier message of the sender waits for delivery, and runs it there only when every
     * listener of the topic says yes: the message then saves a hand-off to a delivery thread (for a {@link
     * Delivery#PROCESSED} one two thread wake-ups of its sender's round trip; for the others the receiver's CPU).
     * Say yes only for a message {@code onMessage} handles in microseconds without blocking: no
     * lock another thread holds for long, no I/O, no wait for another message, no code of unknown cost. A send made
     * there never waits for queue room: it fails at once with {@link SendQueueFullException} when the queue is full.
     * A {@link Delivery#RECEIVED} message is acknowledged at the end of the read, after the listeners that ran there.
     * Called on the I/O thread, once per listener and message; it must only look at the message (a read-only view
     * of its own) and answer at once. The default, false, delivers every message on a delivery thread.
     */
    default boolean inline(Message message) {
        return false;
    }
}
