package io.flotilla.tomcat;

import io.flotilla.replication.AttributeCodecException;

/**
 * A session taken over after a failover holds a value this node cannot decode (its class is not on this node's
 * allowlist, is missing here, or its bytes do not read). Thrown by {@link FlotillaManager#findSession} instead of
 * answering with the session minus that value: the session is kept with the replicated bytes, and {@link
 * ReplicationValve} answers the request with 500 naming the attribute, its class and the fix.
 *
 * <p>Threading: immutable.
 */
final class SessionRestoreException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    SessionRestoreException(String attributeName, AttributeCodecException cause, int others) {
        super("session attribute '" + attributeName + "'" + (others > 0 ? " (and " + others + " more)" : "")
                + " could not be restored after failover: " + cause.getMessage() + "; the session is kept as "
                + "replicated, and its requests fail until this node can decode it", cause);
    }
}
