package io.flotilla.replication;

import io.flotilla.FlotillaException;
import java.util.Objects;

/**
 * Bytes or values the replication codec refused: a class outside the allowlist, a value that cannot be
 * serialized, a size over a configured cap, or input that does not follow the format. The message says what was
 * expected, what was seen and what to do; {@link #reason()} is a low-cardinality tag for metrics.
 *
 * <p>Threading: immutable, safe to share.
 */
public class CodecException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    /** Why a value or input was refused. */
    public enum Reason {
        /** The class is not matched by the allowlist. */
        NOT_ALLOWED,
        /** The value is allowed but could not be written or read (no serializer, failing serializer). */
        NOT_SERIALIZABLE,
        /** A depth, size or length cap was exceeded, or a declared length exceeds the bytes left. */
        LIMIT_EXCEEDED,
        /** The bytes do not follow the format (truncated, unknown tag, bad reference). */
        MALFORMED
    }

    private final Reason reason;

    CodecException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    CodecException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** Why the value or input was refused. */
    public Reason reason() {
        return reason;
    }
}
