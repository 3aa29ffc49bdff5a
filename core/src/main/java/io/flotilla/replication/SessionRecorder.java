package io.flotilla.replication;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The primary copy of one session: records each change as it happens and hands out one coalesced
 * {@link SessionDelta} when a request ends ({@link #drain()}). It also keeps the state as of the last drain, which
 * is what a replica that asks for the full session gets ({@link #snapshot()}): snapshots always sit at a delta
 * boundary, so the next delta applies to them exactly.
 *
 * <p>The version grows by one with every recorded change; a delta spans from the version of the previous drain to
 * the current one.
 *
 * <p>Threading: safe from any thread; several request threads may record into one session at once. Each method
 * holds the recorder's lock briefly (no I/O, no encoding under it). Drains are totally ordered, so deltas sent in
 * drain order chain base to version.
 */
public final class SessionRecorder {
    private final Object lock = new Object();
    private final List<SessionOp> pending = new ArrayList<>();
    private SessionRecord committed;
    private String pendingId;
    private String baseId;
    private long version;
    private boolean expired;

    private SessionRecorder(String id, SessionRecord committed, long version) {
        this.pendingId = id;
        this.baseId = id;
        this.committed = committed;
        this.version = version;
    }

    /** A new session: its first delta creates it on the replicas. */
    public static SessionRecorder create(String id, SessionMetadata metadata) {
        SessionRecorder r = new SessionRecorder(Objects.requireNonNull(id, "id"), null, 0);
        r.record(new SessionOp.Create(metadata));
        return r;
    }

    /** Takes over a replicated session (failover): nothing pending, continues from its version. */
    public static SessionRecorder resume(SessionRecord record) {
        return new SessionRecorder(record.id(), record, record.version());
    }

    public void setAttribute(String name, byte[] encodedValue) {
        record(new SessionOp.SetAttribute(name, encodedValue));
    }

    public void removeAttribute(String name) {
        record(new SessionOp.RemoveAttribute(name));
    }

    public void access(long lastAccessedTime, boolean isNew) {
        record(new SessionOp.Access(lastAccessedTime, isNew));
    }

    public void maxInactive(int seconds) {
        record(new SessionOp.MaxInactive(seconds));
    }

    public void principal(byte[] principal, byte[] authType) {
        record(new SessionOp.Principal(principal, authType));
    }

    public void notes(byte[] notes) {
        record(new SessionOp.Notes(notes));
    }

    public void changeId(String newId) {
        record(new SessionOp.ChangeId(newId));
    }

    /** Ends the session; the next delta tells the replicas, and nothing may be recorded after it. */
    public void expire() {
        record(new SessionOp.Expire());
    }

    /**
     * Records one operation.
     *
     * @throws IllegalStateException after {@link #expire()}
     */
    public void record(SessionOp op) {
        Objects.requireNonNull(op, "op");
        synchronized (lock) {
            if (expired) {
                throw new IllegalStateException("session " + SessionRecord.redact(pendingId) + " has expired");
            }
            if (op instanceof SessionOp.Create && (committed != null || !pending.isEmpty())) {
                throw new IllegalStateException("session " + SessionRecord.redact(pendingId) + " already exists");
            }
            pending.add(op);
            version++;
            if (op instanceof SessionOp.Expire) {
                expired = true;
            } else if (op instanceof SessionOp.ChangeId c) {
                pendingId = c.newId();
            }
        }
    }

    /** The changes since the previous drain as one delta, or empty when nothing changed. */
    public Optional<SessionDelta> drain() {
        synchronized (lock) {
            if (pending.isEmpty()) {
                return Optional.empty();
            }
            List<SessionOp> ops = SessionDelta.coalesce(pending);
            long base = committed == null ? 0 : committed.version();
            SessionState state = SessionState.of(baseId, committed);
            state.apply(ops);
            SessionDelta delta = new SessionDelta(baseId, base, version, ops);
            committed = state.toRecord(version);
            baseId = state.id;
            pending.clear();
            return Optional.of(delta);
        }
    }

    /** The state as of the last drain; null before the first drain of a new session. */
    public SessionRecord snapshot() {
        synchronized (lock) {
            return committed;
        }
    }

    /**
     * The state including the changes not yet drained (what a joining member should get now: a change made outside
     * a request is otherwise replicated only with the next drain); null when the session ended. Unlike {@link
     * #snapshot()} it may sit between two deltas: a replica holding it treats the next delta as a duplicate when
     * that delta ends at this version, and asks for the full session when it ends later.
     */
    public SessionRecord current() {
        synchronized (lock) {
            if (pending.isEmpty()) {
                return committed;
            }
            if (expired) {
                return null;
            }
            SessionState state = SessionState.of(baseId, committed);
            state.apply(pending);
            return state.toRecord(version);
        }
    }

    /** Whether changes were recorded since the last drain. */
    public boolean hasPending() {
        synchronized (lock) {
            return !pending.isEmpty();
        }
    }

    /** The version including changes not yet drained. */
    public long version() {
        synchronized (lock) {
            return version;
        }
    }

    /** The current id, including a pending change. */
    public String id() {
        synchronized (lock) {
            return pendingId;
        }
    }

    /** Whether the session has expired (the expiry may not have been drained yet). */
    public boolean expired() {
        synchronized (lock) {
            return expired;
        }
    }
}
