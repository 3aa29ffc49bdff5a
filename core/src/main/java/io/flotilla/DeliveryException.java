package io.flotilla;

/**
 * A send did not meet its {@link Delivery} guarantee for one target member. The message names the member and
 * what happened. Subclasses tell the cause apart: {@link DeliveryTimeoutException} (no answer within the
 * configured {@code timeout}), {@link RemoteProcessingException} (the remote listener threw),
 * {@link MemberUnreachableException} (the member left or could not be reached within {@code maxRetryAttempts}),
 * {@link SendQueueFullException} (back-pressure: the member's send queue stayed full for {@code timeout}).
 *
 * <p>Threading: immutable, safe to share.
 */
public class DeliveryException extends FlotillaException {
    private static final long serialVersionUID = 1L;
    private final transient Member member;

    DeliveryException(Member member, String message) {
        super(message);
        this.member = member;
    }

    /** The target member the guarantee was not met for. */
    public Member member() {
        return member;
    }
}
