package io.flotilla;

/**
 * Thrown by a {@link MessageListener} to refuse a message for a reason its sender is built to handle, not because the
 * listener failed: a replica that will not take a write from a member that does not own the session, or that lacks the
 * version a write starts from. A {@link Delivery#PROCESSED} sender gets a {@link RemoteProcessingException} whose
 * {@link RemoteProcessingException#remoteError()} is this exception's class name, {@code ": "} and its message, as for
 * any exception; but the node counts it as refused ({@code flotilla.messages.refused}) and logs it at {@code DEBUG}
 * only, not as a listener failure ({@code flotilla.listener.errors}, a rate-limited {@code WARNING} with its stack
 * trace), so routine refusals neither alarm an operator nor crowd out a real failure's warning.
 *
 * <p>It carries no stack trace (it is control flow), so it is cheap to create. Subclasses name particular reasons.
 *
 * <p>Threading: immutable, safe to share.
 */
public class MessageRefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    /** {@code reason}: why, for the sender (it reaches it in the {@link RemoteProcessingException}). */
    public MessageRefusedException(String reason) {
        super(reason, null, false, false);
    }
}
