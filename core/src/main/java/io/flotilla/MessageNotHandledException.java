package io.flotilla;

/**
 * Thrown by a {@link MessageListener} to say that a message is not its own: a listener that serves only part of a
 * topic (one web application's replication engine among several sharing a topic on one node) declines the others'
 * messages. When every listener of the topic declines a message, the node treats it as it treats a message for a
 * topic with no listener: counted as unhandled, and a {@link Delivery#PROCESSED} sender gets a
 * {@link RemoteProcessingException} whose {@link RemoteProcessingException#noListener()} is true. A decline is not an error: it is not logged
 * and not counted as a listener failure.
 *
 * <p>It carries no stack trace (it is control flow, thrown per declined message), so it is cheap to create.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class MessageNotHandledException extends Exception {
    private static final long serialVersionUID = 1L;

    /** {@code why}: what the listener serves instead, for the node's log (e.g. its namespace). */
    public MessageNotHandledException(String why) {
        super(why, null, false, false);
    }
}
