package io.flotilla;

/**
 * The member's bounded send queue stayed full for the configured {@code timeout}: the member is not keeping up.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class SendQueueFullException extends DeliveryException {
    private static final long serialVersionUID = 1L;

    public SendQueueFullException(Member member, String message) {
        super(member, message);
    }
}
