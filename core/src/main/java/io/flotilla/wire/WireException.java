package io.flotilla.wire;

import io.flotilla.FlotillaException;

/**
 * Bytes from the network that do not follow the wire format. The message says what was expected and what was
 * seen; {@link #reason()} is a short, low-cardinality tag for metrics.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class WireException extends FlotillaException {
    private static final long serialVersionUID = 1L;
    private final String reason;

    public WireException(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** A metric tag: {@code bad_magic}, {@code bad_version}, {@code bad_type}, {@code too_large}, ... */
    public String reason() {
        return reason;
    }
}
