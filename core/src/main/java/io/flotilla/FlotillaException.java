package io.flotilla;

/**
 * The root of every exception Flotilla throws. Unchecked: callers handle the few subclasses that they can
 * act on ({@link ConfigurationException}, {@link DeliveryException} and its subclasses, {@link NodeClosedException})
 * and let the rest propagate.
 *
 * <p>Threading: immutable, safe to share.
 */
public class FlotillaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FlotillaException(String message) {
        super(message);
    }

    public FlotillaException(String message, Throwable cause) {
        super(message, cause);
    }
}
