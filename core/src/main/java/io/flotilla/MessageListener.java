package io.flotilla;

/**
 * Receives the messages of one topic.
 *
 * <p>Threading: the messages of one sender are delivered one at a time, in the order they were sent; messages of
 * different senders may be delivered concurrently on the node's delivery threads (never on an I/O thread). An
 * exception it throws is logged; for a {@link Delivery#PROCESSED} message it is reported to the sender as a
 * {@link RemoteProcessingException}. It never stops the node. A listener that serves only part of its topic throws
 * {@link MessageNotHandledException} for the messages that are not its own (not an error, not logged).
 */
@FunctionalInterface
public interface MessageListener {
    void onMessage(Message message) throws Exception;
}
