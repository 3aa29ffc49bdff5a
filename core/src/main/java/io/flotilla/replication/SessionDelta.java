package io.flotilla.replication;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The changes of one session since its last replication, coalesced: one operation per attribute name (set then
 * remove is a remove, set twice is the last set) and per kind of metadata, kept in the order of their last change,
 * a {@code Create} first, nothing after an {@code Expire}. A replica applies it only to {@link #baseVersion()}
 * and is then at {@link #version()}.
 *
 * <p>Threading: immutable, safe to share.
 *
 * @param sessionId the id the session had at {@code baseVersion} (a {@code ChangeId} inside renames it)
 * @param baseVersion the version this delta applies to; 0 for a delta that creates the session
 * @param version the version after it, greater than {@code baseVersion}
 * @param ops the coalesced operations, at least one
 */
public record SessionDelta(String sessionId, long baseVersion, long version, List<SessionOp> ops) {
    /** Up to this many operations (a request's usual few), {@link #coalesce} first looks for nothing to merge. */
    private static final int FEW_OPS = 8;

    public SessionDelta {
        Objects.requireNonNull(sessionId, "sessionId");
        if (baseVersion < 0 || version <= baseVersion) {
            throw new IllegalArgumentException("need 0 <= baseVersion < version, got " + baseVersion + " -> " + version);
        }
        ops = List.copyOf(ops);
        if (ops.isEmpty()) {
            throw new IllegalArgumentException("a delta has at least one operation");
        }
        for (int i = 1; i < ops.size(); i++) {
            if (ops.get(i) instanceof SessionOp.Create) {
                throw new IllegalArgumentException("Create must be the first operation");
            }
        }
    }

    /** Whether the delta creates the session. */
    public boolean creates() {
        return ops.get(0) instanceof SessionOp.Create;
    }

    /** Whether the delta ends the session. */
    public boolean expires() {
        return ops.get(ops.size() - 1) instanceof SessionOp.Expire;
    }

    /**
     * Coalesces {@code ops} (in the order they happened) by the rules of this class.
     *
     * @throws IllegalArgumentException when an operation follows an {@code Expire} or a {@code Create} is not first
     */
    public static List<SessionOp> coalesce(List<SessionOp> ops) {
        return ops.size() <= FEW_OPS && distinctAndLive(ops) ? new ArrayList<>(ops) : coalesceByKey(ops);
    }

    /**
     * True when no two of {@code ops} change the same thing, none is an {@code Expire} and a {@code Create} comes
     * only first: {@link #coalesce} would return them as they are (without building a map).
     */
    private static boolean distinctAndLive(List<SessionOp> ops) {
        for (int i = 0; i < ops.size(); i++) {
            SessionOp op = ops.get(i);
            if (op instanceof SessionOp.Expire || op instanceof SessionOp.Create && i > 0) {
                return false;
            }
            for (int j = 0; j < i; j++) {
                if (sameKey(ops.get(j), op)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether {@link #key} of the two is equal, without building either key. */
    private static boolean sameKey(SessionOp a, SessionOp b) {
        String an = attributeName(a);
        String bn = attributeName(b);
        return an != null ? an.equals(bn) : bn == null && a.getClass() == b.getClass();
    }

    private static String attributeName(SessionOp op) {
        if (op instanceof SessionOp.SetAttribute s) {
            return s.name();
        }
        return op instanceof SessionOp.RemoveAttribute r ? r.name() : null;
    }

    /** {@link #coalesce} through a map from each operation's key to its last operation. */
    static List<SessionOp> coalesceByKey(List<SessionOp> ops) {
        Map<Object, SessionOp> byKey = new LinkedHashMap<>();
        boolean expired = false;
        for (int i = 0; i < ops.size(); i++) {
            SessionOp op = ops.get(i);
            if (expired) {
                throw new IllegalArgumentException("operation " + op + " after Expire");
            }
            if (op instanceof SessionOp.Create && i > 0) {
                throw new IllegalArgumentException("Create must be the first operation");
            }
            if (op instanceof SessionOp.Expire) {
                SessionOp create = byKey.get(SessionOp.Create.class);
                byKey.clear();
                if (create != null) {
                    byKey.put(SessionOp.Create.class, create);
                }
                expired = true;
            }
            Object key = key(op);
            byKey.remove(key); // re-inserted at the end: the order of last change
            byKey.put(key, op);
        }
        return new ArrayList<>(byKey.values());
    }

    private static Object key(SessionOp op) {
        if (op instanceof SessionOp.SetAttribute s) {
            return new AttributeKey(s.name());
        }
        if (op instanceof SessionOp.RemoveAttribute r) {
            return new AttributeKey(r.name());
        }
        return op.getClass();
    }

    private record AttributeKey(String name) {
    }

    @Override
    public String toString() {
        return "SessionDelta[" + SessionRecord.redact(sessionId) + " v" + baseVersion + "->v" + version + ", " + ops + "]";
    }
}
