package io.flotilla.replication;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A session being changed: the mutable working copy both the recorder and the replica store apply operations to.
 *
 * <p>Threading: not thread-safe; confined to the caller, who holds the owner's lock.
 */
final class SessionState {
    String id;
    SessionMetadata metadata;
    final Map<String, byte[]> attributes;
    boolean expired;
    private byte[] lastGroup;

    private SessionState(String id, SessionMetadata metadata, Map<String, byte[]> attributes) {
        this.id = id;
        this.metadata = metadata;
        this.attributes = attributes;
    }

    /** The state of {@code record}, or of a session not yet created when it is null. */
    static SessionState of(String id, SessionRecord record) {
        return record == null ? new SessionState(id, null, new LinkedHashMap<>())
                : new SessionState(record.id(), record.metadata(), new LinkedHashMap<>(record.attributesUnsafe()));
    }

    void apply(List<SessionOp> ops) {
        for (SessionOp op : ops) {
            apply(op);
        }
    }

    void apply(SessionOp op) {
        if (op instanceof SessionOp.Create c) {
            metadata = c.metadata();
            attributes.clear();
            expired = false;
            return;
        }
        if (metadata == null && !(op instanceof SessionOp.Expire)) {
            throw new IllegalStateException("operation " + op + " on a session that was never created");
        }
        if (op instanceof SessionOp.SetAttribute s) {
            attributes.put(s.name(), shared(s.valueUnsafe()));
        } else if (op instanceof SessionOp.RemoveAttribute r) {
            attributes.remove(r.name());
        } else if (op instanceof SessionOp.Access a) {
            metadata = metadata.withAccess(a.lastAccessedTime(), a.isNew());
        } else if (op instanceof SessionOp.MaxInactive m) {
            metadata = metadata.withMaxInactive(m.seconds());
        } else if (op instanceof SessionOp.Principal p) {
            metadata = metadata.withPrincipal(p.principal(), p.authType());
        } else if (op instanceof SessionOp.Notes n) {
            metadata = metadata.withNotes(n.notes());
        } else if (op instanceof SessionOp.Expire) {
            expired = true;
        } else if (op instanceof SessionOp.ChangeId c) {
            id = c.newId();
        }
    }

    /**
     * The members of one group hold one array (the delta's operations each carry a copy): the group applied last, if
     * {@code value} equals it.
     */
    private byte[] shared(byte[] value) {
        if (!AttributeGroup.isGroup(value)) {
            return value;
        }
        if (AttributeGroup.sameGroup(lastGroup, value)) {
            return lastGroup;
        }
        lastGroup = value;
        return value;
    }

    /** The record of this state; it takes the attribute map over, so the state must not be used afterwards. */
    SessionRecord toRecord(long version) {
        return SessionRecord.owning(id, version, metadata, attributes);
    }
}
