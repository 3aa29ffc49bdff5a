package io.flotilla;

/**
 * The member left the view, or could not be reached after {@code maxRetryAttempts} reconnections.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class MemberUnreachableException extends DeliveryException {
    private static final long serialVersionUID = 1L;

    public MemberUnreachableException(Member member, String message) {
        super(member, message);
    }
}
