package io.flotilla;

/**
 * A {@link Delivery#PROCESSED} send reached the member, but its {@link MessageListener} threw, or no listener took
 * the message there ({@link #noListener()}). Carries the remote exception's class name and message; the
 * remote stack trace stays in the remote node's log.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class RemoteProcessingException extends DeliveryException {
    private static final long serialVersionUID = 1L;
    /** How a member's error starts when no listener was registered for the topic (never a class name: a space). */
    private static final String NO_LISTENER = "no listener for topic ";
    private final String remoteError;

    public RemoteProcessingException(Member member, String remoteError) {
        super(member, "listener of member " + member.describe() + " failed: " + remoteError);
        this.remoteError = remoteError;
    }

    /** The remote exception as {@code ClassName: message}. */
    public String remoteError() {
        return remoteError;
    }

    /**
     * Whether no listener took the message on the member (none registered for the topic, or every one declined it
     * with {@link MessageNotHandledException}), so it holds nothing of the message, rather than a listener that threw.
     */
    public boolean noListener() {
        return remoteError.startsWith(NO_LISTENER);
    }

    /** The error text a member reports for a {@code PROCESSED} message on {@code topic}, which nothing listens to. */
    public static String noListenerError(int topic, Member on) {
        return NO_LISTENER + topic + " on member " + on.describe();
    }
}
