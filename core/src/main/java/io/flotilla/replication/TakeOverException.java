package io.flotilla.replication;

import io.flotilla.MemberId;
import io.flotilla.FlotillaException;

/**
 * A take-over ({@link ReplicationEngine#takeOver}) that did not happen: another member owns the session or was handed
 * it lately, an older member takes it over at the same time, or a member of the view did not answer within the node's timeout (so the
 * newest copy may be there). The session is not owned here; the caller must not serve it (and must not start an
 * empty one in its place): the request fails, and a retry may succeed once the view has settled.
 *
 * <p>Threading: immutable, safe to share.
 */
public final class TakeOverException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    /** The live owner a take-over round found, when that is why it failed (a hand-off asks it instead). */
    private final transient MemberId liveOwner;

    TakeOverException(String message) {
        this(message, null);
    }

    TakeOverException(String message, MemberId liveOwner) {
        super(message);
        this.liveOwner = liveOwner;
    }

    /** The live owner found, or null. */
    MemberId liveOwner() {
        return liveOwner;
    }
}
