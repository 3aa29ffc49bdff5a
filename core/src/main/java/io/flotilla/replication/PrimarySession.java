package io.flotilla.replication;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A session this member owns (its primary copy): the live attribute values the application set, and the changes
 * since the last {@link #replicate()}. Obtained from {@link ReplicationEngine#create} or, for a session another
 * member owned, from {@link ReplicationEngine#find} (a failover take-over: values are decoded from the replicated
 * bytes on first use, with the configured class loader).
 *
 * <p><b>End-of-request encoding.</b> {@link #setAttribute} checks only the value's class against the allowlist (so
 * a refused class still fails at the call); the value is encoded when the delta is made ({@link #replicate()}, at
 * the end of the request), so what the application did to it after {@code setAttribute} within the request is
 * replicated, as stock {@code DeltaManager} does. Each changed attribute is encoded once per replication: the bytes
 * serve both the delta and mutation detection's hash. A value that cannot be encoded then (a nested class outside
 * the allowlist, a value Kryo cannot write, a size cap) is never dropped silently: with {@code onUnserializable=FAIL}
 * the replicas drop their older copy, {@code flotilla.replication.attributes.unencodable} counts it, a WARN names
 * the attribute, the class and the fix, and every replication of the session fails with the {@link
 * AttributeCodecException} (the rest of the delta is sent first) until the value encodes or is replaced or removed;
 * with {@code SKIP} it is kept on this member only, as before.
 *
 * <p><b>Values a take-over cannot decode.</b> {@link #getAttribute} throws the {@link AttributeCodecException} (the
 * same one on every later call), counts {@code flotilla.replication.attributes.undecodable} once and WARNs once
 * (rate-limited) with the fix. The bytes are kept: nothing is recorded for that attribute, so the replicas and this
 * member's snapshot still hold them, and a member whose allowlist admits the class can take the session over
 * whole. The application replacing or removing the attribute ends that.
 *
 * <p>Threading: safe from any thread; every method holds this session's lock briefly. Encoding a value happens
 * under it; {@link #replicate()} sends under it, so one session's deltas leave in version order.
 */
public final class PrimarySession {
    /** A value taken over from a replica and not yet decoded. */
    private static final Object UNDECODED = new Object();

    private final PrimaryHost engine;
    private final SessionRecorder recorder;
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Map<String, byte[]> encodedOnTakeOver;
    /** Hashes of the bytes the replicas hold, per attribute (absent: they hold none). */
    private final Map<String, Long> hashes = new HashMap<>();
    /** Set since the last drain: encoded and recorded at the next one. */
    private final Set<String> pending = new HashSet<>();
    /** Values the last drain could not encode ({@code onUnserializable=FAIL}): every replication fails meanwhile. */
    private final Map<String, AttributeCodecException> unencodable = new LinkedHashMap<>();
    /** Values taken over whose bytes do not decode here. */
    private final Map<String, AttributeCodecException> undecodable = new HashMap<>();
    private final long creationTime;
    private long lastAccessedTime;
    private boolean isNew;
    private int maxInactiveSeconds;
    private long recordedAccessTime;
    private boolean recordedIsNew;
    private boolean invalidated;
    private boolean handedOver;
    /** Requests using it ({@link #beginAccess}): while any does, it is not handed to another member. */
    private int inUse;
    /**
     * The newest version whose replication every holder acknowledged (or that had no holder); engine side. Atomic,
     * not under this session's lock: the I/O thread that reads the last acknowledgement records it, and must never
     * wait for a request that holds the lock while it waits for room in a send queue that thread drains.
     */
    private final AtomicLong acknowledged = new AtomicLong();

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

    /**
     * The version including changes recorded but not yet replicated; values set since the last replication are
     * recorded (and counted) when the next one encodes them.
     */
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

    /**
     * The value of {@code name}, decoded on first use after a take-over; null when absent.
     *
     * @throws AttributeCodecException when the replicated bytes of a taken-over value do not decode here (the
     *     allowlist refuses its class, the class is missing, the bytes are malformed): the same exception on every
     *     call, the bytes kept (see the class comment)
     */
    public synchronized Object getAttribute(String name) {
        Object v = values.get(name);
        if (v == UNDECODED) {
            AttributeCodecException failed = undecodable.get(name);
            if (failed != null) {
                throw failed;
            }
            byte[] bytes = encodedOnTakeOver.get(name);
            try {
                if (AttributeGroup.isGroup(bytes)) {
                    return decodeGroupAtTakeOver(name, bytes);
                }
                v = engine.codec().decode(name, bytes, engine.config().classLoader());
            } catch (AttributeCodecException e) {
                undecodable.put(name, e);
                engine.meters().attributesUndecodable.increment();
                engine.warn("undecodable:" + e.className(), "session attribute '" + name + "' of session "
                        + SessionRecord.redact(recorder.id()) + " could not be decoded at take-over: " + e.getMessage()
                        + "; its bytes are kept, and its requests fail until this member can decode it");
                throw e;
            }
            values.put(name, v);
            encodedOnTakeOver.remove(name);
        }
        return v;
    }

    /**
     * Decodes the group {@code name}'s bytes belong to once, and gives every member still holding those bytes its
     * value from that one graph: attributes that shared an object on the old owner share it here.
     */
    private Object decodeGroupAtTakeOver(String name, byte[] bytes) {
        Map<String, Object> group = engine.codec().decodeGroup(name, bytes, engine.config().classLoader());
        group.forEach((member, value) -> {
            if (values.get(member) == UNDECODED && !undecodable.containsKey(member)
                    && AttributeGroup.sameGroup(encodedOnTakeOver.get(member), bytes)) {
                values.put(member, value);
                encodedOnTakeOver.remove(member);
            }
        });
        return group.get(name);
    }

    /** The attribute names, a copy (values a take-over could not decode included). */
    public synchronized Set<String> attributeNames() {
        return Set.copyOf(values.keySet());
    }

    /**
     * Sets {@code name} to {@code value} (null removes it); the value is encoded and recorded at the next
     * replication, so later changes to it within the request are replicated too.
     *
     * @throws AttributeCodecException when the allowlist refuses the value's class and {@code onUnserializable=FAIL};
     *     the session is then unchanged
     */
    public synchronized void setAttribute(String name, Object value) {
        Objects.requireNonNull(name, "name");
        if (value == null) {
            removeAttribute(name);
            return;
        }
        checkLive();
        boolean allowed = checkClass(name, value);
        forget(name);
        values.put(name, value);
        if (allowed) {
            pending.add(name);
        } else {
            dropReplicated(name);
        }
    }

    public synchronized void removeAttribute(String name) {
        Objects.requireNonNull(name, "name");
        checkLive();
        if (values.remove(name) != null) {
            forget(name);
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

    /**
     * The metadata as last replicated, principal and notes included (for a session just taken over: as taken over);
     * null before its first replication.
     */
    public synchronized SessionMetadata replicatedMetadata() {
        SessionRecord r = recorder.snapshot();
        return r == null ? null : r.metadata();
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

    /**
     * Same as {@link ReplicationEngine#replicate(String)} with this session's id; it also fails, after sending the
     * rest of the delta, while the session holds a value that cannot be encoded ({@code onUnserializable=FAIL}).
     */
    public CompletionStage<Void> replicate() {
        return engine.replicate(this);
    }

    /**
     * The replication of {@code version} was acknowledged by every holder (or had none to wait for). Any thread,
     * without this session's lock (the I/O thread that read the acknowledgement).
     */
    void acknowledged(long version) {
        acknowledged.accumulateAndGet(version, Math::max);
    }

    long acknowledged() {
        return acknowledged.get();
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

    /**
     * A request starts using this session: until the matching {@link #endAccess}, the session is not handed to
     * another member that asks for it ({@link ReplicationEngine#moveHere}; that member waits, bounded). Call it when a
     * request finds the session and {@code endAccess} when the request is done with it, after its replication.
     *
     * @return false when this handle is no longer owned here (invalidated, expired or moved to another member): the
     *     caller must not use it (and does not call {@code endAccess})
     */
    public synchronized boolean beginAccess() {
        if (invalidated) {
            return false;
        }
        inUse++;
        return true;
    }

    /** The request that called {@link #beginAccess} is done with the session. */
    public synchronized void endAccess() {
        if (inUse > 0) {
            inUse--;
        }
    }

    synchronized boolean inUse() {
        return inUse > 0;
    }

    /** Handed to another member (an older one that also owned it, or one that asked for it): this handle is dead. */
    synchronized void handOver() {
        invalidated = true;
        handedOver = true;
    }

    /**
     * Whether this handle died because the session moved to another member (one that asked for it, or an older owner
     * at a heal): the session lives on there, so a host drops its local copy without telling the application it ended.
     * Implies {@link #isInvalidated()}.
     */
    public synchronized boolean isHandedOver() {
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
     * Completes the pending changes before a drain: the values set since the last one and those that could not be
     * encoded then are encoded now (once each), detected in-place mutations, and the last access when there are
     * other changes or {@code accessInterval} has passed since the last one replicated.
     *
     * @return true when an access-only delta was made (for the meter)
     */
    boolean prepareDrain(ReplicationConfig.MutationDetection detection, long accessIntervalMillis) {
        if (invalidated) {
            return false;
        }
        List<String> names = null;
        List<Object> objects = null;
        // Nothing set, nothing left unencoded and no detection (the default): no value to look at, as for nearly every
        // primary when a state transfer prepares it.
        if (!pending.isEmpty() || !unencodable.isEmpty() || detection != ReplicationConfig.MutationDetection.OFF) {
            for (Map.Entry<String, Object> e : values.entrySet()) {
                String name = e.getKey();
                Object v = e.getValue();
                boolean set = pending.contains(name) || unencodable.containsKey(name);
                if (v == UNDECODED || !set && (detection == ReplicationConfig.MutationDetection.OFF
                        || detection == ReplicationConfig.MutationDetection.MUTABLE_TYPES && immutable(v))) {
                    continue;
                }
                if (names == null) {
                    names = new ArrayList<>();
                    objects = new ArrayList<>();
                }
                names.add(name);
                objects.add(v);
            }
        }
        if (names != null) {
            encodeAtDrain(names, objects);
        }
        pending.clear();
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

    /**
     * The last replicated state, for a full copy (a repair, a full-copy answer, a take-over answer), with the values
     * that share objects as one graph across the session ({@link #withSessionGroups}) when nothing is pending (then
     * the values' hashes are those of that state); null before the first replication. Under this session's lock.
     */
    SessionRecord fullCopy() {
        SessionRecord snap = recorder.snapshot();
        return snap == null || recorder.hasPending() ? snap : withSessionGroups(snap);
    }

    /**
     * {@code record} (this session's {@code current()} state, for a state transfer) with the values that share objects
     * written as one graph across the whole session, as a state transfer of stock writes a whole session through one
     * object stream: the live values whose own bytes are still those replicated (so the record stays the state of its
     * version) are encoded together, and each set of them that shares objects gets one group; the others keep their
     * bytes. Immutable values ({@link #immutable}: strings, boxed numbers, enums, {@code java.time}) are left out: the
     * identity of such a value is not observable, so a session with at most one other value is not encoded again at
     * all (as most are: a state transfer calls this for every primary). Under this session's lock, after {@link
     * #prepareDrain}.
     */
    SessionRecord withSessionGroups(SessionRecord record) {
        List<String> names = null;
        List<Object> objects = null;
        for (String name : record.attributeNames()) {
            Object v = values.get(name);
            if (v != null && v != UNDECODED && !immutable(v) && hashes.containsKey(name)) {
                if (names == null) {
                    names = new ArrayList<>();
                    objects = new ArrayList<>();
                }
                names.add(name);
                objects.add(v);
            }
        }
        if (names == null || names.size() < 2) {
            return record;
        }
        AttributeCodec.Batch batch = engine.codec().encodeEach(names, objects);
        if (!batch.sharing().joined()) {
            return record;
        }
        int[] same = new int[names.size()];
        int count = 0;
        for (int i = 0; i < names.size(); i++) {
            byte[] own = batch.bytes()[i];
            if (own != null && hash(own) == hashes.get(names.get(i))) {
                same[count++] = i;
            }
        }
        Map<String, byte[]> attributes = new LinkedHashMap<>(record.attributesUnsafe());
        engine.codec().grouped(names, objects, batch, Arrays.copyOf(same, count), attributes::put);
        return SessionRecord.owning(record.id(), record.version(), record.metadata(), attributes);
    }

    /**
     * {@code replicated}, or a stage failed with the first value that could not be encoded at the last drain (after
     * {@code replicated} completes: the rest of the delta is sent either way).
     */
    CompletionStage<Void> failIfUnencodable(CompletionStage<Void> replicated) {
        AttributeCodecException first;
        synchronized (this) {
            first = invalidated || unencodable.isEmpty() ? null : unencodable.values().iterator().next();
        }
        return first == null ? replicated : replicated.thenCompose(v -> CompletableFuture.failedFuture(first));
    }

    /**
     * Encodes the values of this drain (each once) and records those set or changed: a value that cannot be encoded
     * is counted, logged and its replicas' older copy dropped; values that share objects are recorded as one group
     * (one graph, see {@link AttributeCodec#encodeAll}), so the copies share them too. Mutation detection hashes
     * each value's own bytes, so a group does not make its members look changed at the next drain.
     */
    private void encodeAtDrain(List<String> names, List<Object> objects) {
        if (names.size() == 1) { // the common request: one changed value, nothing to share
            String name = names.get(0);
            try {
                byte[] bytes = engine.codec().encode(name, objects.get(0));
                if (changedAtDrain(name, bytes)) {
                    recorder.setAttribute(name, bytes);
                }
            } catch (AttributeCodecException e) {
                unencodableAtDrain(name, e);
            }
            return;
        }
        AttributeCodec.Batch batch = engine.codec().encodeEach(names, objects);
        int[] recorded = new int[names.size()];
        int count = 0;
        for (int i = 0; i < names.size(); i++) {
            AttributeCodecException e = batch.failures()[i];
            if (e != null) {
                unencodableAtDrain(names.get(i), e);
            } else if (changedAtDrain(names.get(i), batch.bytes()[i])) {
                recorded[count++] = i;
            }
        }
        engine.codec().grouped(names, objects, batch, Arrays.copyOf(recorded, count), recorder::setAttribute);
    }

    /** Whether {@code name}, encoded to {@code bytes}, is to be recorded: set in the request, or changed in place. */
    private boolean changedAtDrain(String name, byte[] bytes) {
        boolean set = unencodable.remove(name) != null || pending.contains(name);
        long h = hash(bytes);
        Long before = hashes.put(name, h);
        if (set || before == null || before != h) {
            if (!set) {
                engine.meters().mutationsDetected.increment();
            }
            return true;
        }
        return false;
    }

    private void unencodableAtDrain(String name, AttributeCodecException e) {
        if (engine.config().onUnserializable() == ReplicationConfig.OnUnserializable.FAIL) {
            unencodable.put(name, e);
            engine.meters().attributesUnencodable.increment();
            engine.warn("unencodable:" + e.className(), "session attribute '" + name + "' could not be encoded "
                    + "at the end of the request: " + e.getMessage() + "; the request fails (onUnserializable=fail)"
                    + " until the value can be replicated, is replaced or is removed");
        } else {
            engine.skipped(name, e);
        }
        dropReplicated(name);
    }

    /**
     * Whether the allowlist admits the value's class (the codec's class check only; nothing is encoded).
     *
     * @throws AttributeCodecException when it does not and {@code onUnserializable=FAIL}
     */
    private boolean checkClass(String name, Object value) {
        try {
            engine.codec().checkClass(name, value);
            return true;
        } catch (AttributeCodecException e) {
            if (engine.config().onUnserializable() == ReplicationConfig.OnUnserializable.FAIL) {
                throw e;
            }
            engine.skipped(name, e);
            return false;
        }
    }

    /** The replicas must not keep serving an older value of {@code name} than this member's. */
    private void dropReplicated(String name) {
        if (hashes.remove(name) != null) {
            recorder.removeAttribute(name);
        }
    }

    /** The application replaced or removed {@code name}: what was pending or failed for it no longer is. */
    private void forget(String name) {
        pending.remove(name);
        encodedOnTakeOver.remove(name);
        unencodable.remove(name);
        undecodable.remove(name);
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
