package io.flotilla;

/**
 * No acknowledgement arrived from the member within the configured {@code timeout}. The message may
 * still have been delivered: a timeout means "not known to be delivered".
 *
 * <p>Threading: immutable, safe to share.
 */
public final class DeliveryTimeoutException extends DeliveryException {
    private static final long serialVersionUID = 1L;

    public DeliveryTimeoutException(Member member, String message) {
        super(member, message);
    }
}
