package io.flotilla.replication;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A session being changed: the mutable working copy both the recorder and the replica store apply operations to. The
 * attributes are copied only when an operation changes them: most changes (a request's last access, the maximum
 * inactive interval, the principal) touch the metadata alone, and the record they make shares its attributes with the
 * record they started from (records are immutable).
 *
 * <p>Threading: not thread-safe; confined to the caller, who holds the owner's lock.
 */
final class SessionState {
    String id;
    SessionMetadata metadata;
    boolean expired;
    private byte[] lastGroup;
    // the record this state started from, whose attributes it reads until an operation changes one; then null
    private SessionRecord base;
    private Map<String, byte[]> attributes;

    private SessionState(String id, SessionMetadata metadata, SessionRecord base) {
        this.id = id;
        this.metadata = metadata;
        this.base = base;
        this.attributes = base == null ? new LinkedHashMap<>() : base.attributesUnsafe();
    }

    /** The state of {@code record}, or of a session not yet created when it is null. */
    static SessionState of(String id, SessionRecord record) {
        return record == null ? new SessionState(id, null, null)
                : new SessionState(record.id(), record.metadata(), record);
    }

    void apply(List<SessionOp> ops) {
        for (SessionOp op : ops) {
            apply(op);
        }
    }

    void apply(SessionOp op) {
        if (op instanceof SessionOp.Create c) {
            metadata = c.metadata();
            attributes = new LinkedHashMap<>();
            base = null;
            expired = false;
            return;
        }
        if (metadata == null && !(op instanceof SessionOp.Expire)) {
            throw new IllegalStateException("operation " + op + " on a session that was never created");
        }
        if (op instanceof SessionOp.SetAttribute s) {
            writable().put(s.name(), shared(s.valueUnsafe()));
        } else if (op instanceof SessionOp.RemoveAttribute r) {
            if (attributes.containsKey(r.name())) {
                writable().remove(r.name());
            }
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

    private Map<String, byte[]> writable() {
        if (base != null) {
            attributes = new LinkedHashMap<>(attributes);
            base = null;
        }
        return attributes;
    }

    /**
     * The record of this state; it takes the attribute map over (or shares the base record's, unchanged), so the
     * state must not be used afterwards.
     */
    SessionRecord toRecord(long version) {
        return base != null ? SessionRecord.sharing(id, version, metadata, base)
                : SessionRecord.owning(id, version, metadata, attributes);
    }
}
