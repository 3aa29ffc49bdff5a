package io.flotilla;

/**
 * A {@link Delivery#PROCESSED} send reached the member, but its {@link MessageListener} threw. Carries the remote
 * exception's class name and message; the remote stack trace stays in the remote node's log.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class RemoteProcessingException extends DeliveryException {
    private static final long serialVersionUID = 1L;
    private final String remoteError;

    public RemoteProcessingException(Member member, String remoteError) {
        super(member, "listener of member " + member.describe() + " failed: " + remoteError);
        this.remoteError = remoteError;
    }

    /** The remote exception as {@code ClassName: message}. */
    public String remoteError() {
        return remoteError;
    }
}
