package io.flotilla.replication;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * A session this member owns (its primary copy): the live attribute values the application set, and the changes
 * since the last {@link #replicate()}. Obtained from {@link ReplicationEngine#create} or, for a session another
 * member owned, from {@link ReplicationEngine#find} (a failover take-over: values are decoded from the replicated
 * bytes on first use, with the configured class loader).
 *
 * <p>Threading: safe from any thread; every method holds this session's lock briefly. Encoding a value happens
 * under it (the value must not change while it is encoded); {@link #replicate()} sends under it, so one session's
 * deltas leave in version order.
 */
public final class PrimarySession {
    /** A value taken over from a replica and not yet decoded. */
    private static final Object UNDECODED = new Object();

    private final PrimaryHost engine;
    private final SessionRecorder recorder;
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Map<String, byte[]> encodedOnTakeOver;
    private final Map<String, Long> hashes = new HashMap<>();
    private final long creationTime;
    private long lastAccessedTime;
    private boolean isNew;
    private int maxInactiveSeconds;
    private long recordedAccessTime;
    private boolean recordedIsNew;
    private boolean invalidated;
    private boolean handedOver;

    PrimarySession(PrimaryHost engine, SessionRecorder recorder, SessionMetadata metadata,
            Map<String, byte[]> replicated) {
        this.engine = engine;
        this.recorder = recorder;
        this.creationTime = metadata.creationTime();
        this.lastAccessedTime = metadata.lastAccessedTime();
        this.recordedAccessTime = lastAccessedTime;
        this.isNew = metadata.isNew();
        this.recordedIsNew = isNew;
        this.maxInactiveSeconds = metadata.maxInactiveIntervalSeconds();
        this.encodedOnTakeOver = new HashMap<>(replicated);
        for (Map.Entry<String, byte[]> e : replicated.entrySet()) {
            values.put(e.getKey(), UNDECODED);
            hashes.put(e.getKey(), hash(e.getValue()));
        }
    }

    /** The current id (a {@link #changeId} shows at once). */
    public synchronized String id() {
        return recorder.id();
    }

    /** The version including changes not yet replicated. */
    public synchronized long version() {
        return recorder.version();
    }

    public long creationTime() {
        return creationTime;
    }

    public synchronized long lastAccessedTime() {
        return lastAccessedTime;
    }

    public synchronized boolean isNew() {
        return isNew;
    }

    public synchronized int maxInactiveInterval() {
        return maxInactiveSeconds;
    }

    /** Whether it was invalidated or expired; nothing may be changed after that. */
    public synchronized boolean isInvalidated() {
        return invalidated;
    }

    /** The value of {@code name}, decoded on first use after a take-over; null when absent. */
    public synchronized Object getAttribute(String name) {
        Object v = values.get(name);
        if (v == UNDECODED) {
            v = engine.codec().decode(name, encodedOnTakeOver.get(name), engine.config().classLoader());
            values.put(name, v);
            encodedOnTakeOver.remove(name);
        }
        return v;
    }

    /** The attribute names, a copy. */
    public synchronized Set<String> attributeNames() {
        return Set.copyOf(values.keySet());
    }

    /**
     * Sets {@code name} to {@code value} (null removes it) and records the change for the next replication.
     *
     * @throws AttributeCodecException when the value cannot be encoded and {@code onUnserializable=FAIL}; the
     *     session is then unchanged
     */
    public synchronized void setAttribute(String name, Object value) {
        Objects.requireNonNull(name, "name");
        if (value == null) {
            removeAttribute(name);
            return;
        }
        checkLive();
        byte[] bytes = encodeOrSkip(name, value);
        values.put(name, value);
        encodedOnTakeOver.remove(name);
        if (bytes == null) {
            hashes.remove(name);
            recorder.removeAttribute(name); // replicas must not keep serving an older value
            return;
        }
        hashes.put(name, hash(bytes));
        recorder.setAttribute(name, bytes);
    }

    public synchronized void removeAttribute(String name) {
        Objects.requireNonNull(name, "name");
        checkLive();
        if (values.remove(name) != null) {
            encodedOnTakeOver.remove(name);
            hashes.remove(name);
            recorder.removeAttribute(name);
        }
    }

    /**
     * A request used the session: the last access becomes now (the engine's clock). Replicas learn it with the
     * next delta that has real changes, or in an access-only delta at most once per {@code accessInterval}.
     */
    public synchronized void access(boolean stillNew) {
        checkLive();
        lastAccessedTime = engine.clock().currentTimeMillis();
        isNew = stillNew;
    }

    public synchronized void maxInactiveInterval(int seconds) {
        checkLive();
        if (seconds != maxInactiveSeconds) {
            maxInactiveSeconds = seconds;
            recorder.maxInactive(seconds);
        }
    }

    /** The principal and auth type as the container encoded them (null for none). */
    public synchronized void principal(byte[] principal, byte[] authType) {
        checkLive();
        recorder.principal(principal, authType);
    }

    /** The container's notes (FORM authentication), encoded by the container (null for none). */
    public synchronized void notes(byte[] notes) {
        checkLive();
        recorder.notes(notes);
    }

    /** Changes the id (after authentication, or to a new jvmRoute after failover); replicas follow. */
    public void changeId(String newId) {
        Objects.requireNonNull(newId, "newId");
        engine.rename(this, newId);
    }

    /** Ends the session here and, with this replication, everywhere. */
    public CompletionStage<Void> invalidate() {
        synchronized (this) {
            if (!invalidated) {
                invalidated = true;
                recorder.expire();
            }
        }
        return engine.replicate(this);
    }

    /** Same as {@link ReplicationEngine#replicate(String)} with this session's id. */
    public CompletionStage<Void> replicate() {
        return engine.replicate(this);
    }

    // ---- engine side, under this session's lock ----

    SessionRecorder recorder() {
        return recorder;
    }

    /** Applies the rename under this lock; the engine re-keys its map. */
    synchronized String renameLocked(String newId) {
        checkLive();
        String old = recorder.id();
        recorder.changeId(newId);
        return old;
    }

    /** Handed to an older member that also owned it: this handle is dead. */
    synchronized void handOver() {
        invalidated = true;
        handedOver = true;
    }

    synchronized boolean handedOver() {
        return handedOver;
    }

    /** Expires it if idle past its interval at {@code nowMillis}; true when it did. */
    synchronized boolean expireIfIdle(long nowMillis) {
        if (invalidated || maxInactiveSeconds <= 0 || nowMillis - lastAccessedTime < maxInactiveSeconds * 1000L) {
            return false;
        }
        invalidated = true;
        recorder.expire();
        return true;
    }

    /**
     * Completes the pending changes before a drain: detected in-place mutations, and the last access when there
     * are other changes or {@code accessInterval} has passed since the last one replicated.
     *
     * @return true when an access-only delta was made (for the meter)
     */
    boolean prepareDrain(ReplicationConfig.MutationDetection detection, long accessIntervalMillis) {
        if (invalidated) {
            return false;
        }
        if (detection != ReplicationConfig.MutationDetection.OFF) {
            for (Map.Entry<String, Object> e : values.entrySet()) {
                Object v = e.getValue();
                if (v == UNDECODED || (detection == ReplicationConfig.MutationDetection.MUTABLE_TYPES && immutable(v))) {
                    continue;
                }
                byte[] bytes = engine.encodeQuietly(e.getKey(), v);
                if (bytes == null) {
                    continue;
                }
                long h = hash(bytes);
                Long before = hashes.put(e.getKey(), h);
                if (before == null || before != h) {
                    engine.meters().mutationsDetected.increment();
                    recorder.setAttribute(e.getKey(), bytes);
                }
            }
        }
        boolean accessChanged = lastAccessedTime != recordedAccessTime || isNew != recordedIsNew;
        if (!accessChanged) {
            return false;
        }
        boolean otherChanges = recorder.snapshot() == null || recorder.version() > recorder.snapshot().version();
        boolean accessDue = lastAccessedTime - recordedAccessTime >= accessIntervalMillis || isNew != recordedIsNew;
        if (otherChanges || accessDue) {
            recorder.access(lastAccessedTime, isNew);
            recordedAccessTime = lastAccessedTime;
            recordedIsNew = isNew;
            return !otherChanges;
        }
        return false;
    }

    private byte[] encodeOrSkip(String name, Object value) {
        try {
            return engine.codec().encode(name, value);
        } catch (AttributeCodecException e) {
            if (engine.config().onUnserializable() == ReplicationConfig.OnUnserializable.FAIL) {
                throw e;
            }
            engine.skipped(name, e);
            return null;
        }
    }

    private void checkLive() {
        if (invalidated) {
            throw new IllegalStateException("session " + SessionRecord.redact(recorder.id()) + " was invalidated");
        }
    }

    static boolean immutable(Object v) {
        return v instanceof String || v instanceof Number && (v instanceof Integer || v instanceof Long
                || v instanceof Short || v instanceof Byte || v instanceof Double || v instanceof Float
                || v instanceof BigDecimal || v instanceof BigInteger)
                || v instanceof Boolean || v instanceof Character || v instanceof UUID || v instanceof Enum<?>
                || v.getClass().getName().startsWith("java.time.");
    }

    /** FNV-1a, 64 bits, with the length mixed in: enough to notice a changed value, not a security hash. */
    static long hash(byte[] b) {
        long h = 0xcbf29ce484222325L ^ b.length;
        for (byte x : b) {
            h ^= x & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}
