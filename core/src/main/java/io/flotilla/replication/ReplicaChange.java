package io.flotilla.replication;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One change of one replica, as applied by the replica store: its cause, the replica before and after, and the
 * attributes whose value changed. Values stay bytes until {@link #value} decodes one, with the engine's codec and
 * class loader. Values written as one graph because they share objects ({@link AttributeCodec#encodeAll}) are decoded
 * once per change, so the values one change gives share those objects as the owner's do.
 *
 * <p>Threading: safe from any thread; its state is immutable except the groups decoded so far, kept under a lock.
 */
public final class ReplicaChange {
    private final ReplicaCause cause;
    private final String id;
    private final String previousId;
    private final SessionRecord before;
    private final SessionRecord after;
    private final Set<String> changedNames;
    private final AttributeCodec codec;
    private final ClassLoader loader;
    /** Groups decoded so far, by their bytes (the members of one group hold one array). */
    private final Map<byte[], Map<String, Object>> groups = new IdentityHashMap<>();

    ReplicaChange(ReplicaCause cause, String id, String previousId, SessionRecord before, SessionRecord after,
            Set<String> changedNames, AttributeCodec codec, ClassLoader loader) {
        this.cause = cause;
        this.id = id;
        this.previousId = previousId;
        this.before = before;
        this.after = after;
        this.changedNames = Collections.unmodifiableSet(new LinkedHashSet<>(changedNames));
        this.codec = codec;
        this.loader = loader;
    }

    public ReplicaCause cause() {
        return cause;
    }

    /** The session's id after the change (the removed id for a removal). */
    public String id() {
        return id;
    }

    /** The id before the change, when this change renamed the session. */
    public Optional<String> previousId() {
        return Optional.ofNullable(previousId);
    }

    /** The replica before the change; null when this member held none. */
    public SessionRecord before() {
        return before;
    }

    /** The replica after the change; null when the cause {@link ReplicaCause#removes() removes} it. */
    public SessionRecord after() {
        return after;
    }

    /**
     * The attributes set to a different value or removed by this change, in the order the change made them (every
     * attribute for {@link ReplicaCause#CREATED}; none for a removal).
     */
    public Set<String> changedNames() {
        return changedNames;
    }

    /** The value of {@code name} after the change, decoded now; null when absent. */
    public Object value(String name) {
        return after == null ? null : decode(after, name);
    }

    /** The value of {@code name} before the change, decoded now; null when absent. */
    public Object previousValue(String name) {
        return before == null ? null : decode(before, name);
    }

    private Object decode(SessionRecord record, String name) {
        byte[] bytes = record.attributesUnsafe().get(name);
        if (bytes == null || !AttributeGroup.isGroup(bytes)) {
            return bytes == null ? null : codec.decode(name, bytes, loader);
        }
        synchronized (groups) {
            Map<String, Object> group = groups.get(bytes);
            if (group == null) {
                group = codec.decodeGroup(name, bytes, loader);
                groups.put(bytes, group);
            }
            return AttributeCodec.member(name, group);
        }
    }

    @Override
    public String toString() {
        return cause + " " + SessionRecord.redact(id) + (previousId == null ? "" : " (was "
                + SessionRecord.redact(previousId) + ")") + " changed " + changedNames;
    }
}
