package io.flotilla.replication;

import io.flotilla.MessageRefusedException;

/**
 * A holder refuses a {@code PROCESSED} delta it cannot apply: it lacks the version the delta starts from (it is new to
 * the session: placement named it after a view change, before the full copy reached it). The owner reads
 * the class name in the {@link io.flotilla.RemoteProcessingException} it gets back ({@link Outbox#missingCopy}) and
 * sends the full session before the write counts, so an acknowledged write is held, not buffered where it might never
 * apply.
 *
 * <p>Threading: immutable.
 */
final class MissingCopyException extends MessageRefusedException {
    private static final long serialVersionUID = 1L;
    /** How a member's error text starts when it is this exception ({@code ClassName: message}). */
    static final String PREFIX = MissingCopyException.class.getName() + ":";

    MissingCopyException(String message) {
        super(message);
    }
}
