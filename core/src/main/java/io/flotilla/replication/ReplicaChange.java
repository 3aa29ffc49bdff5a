package io.flotilla.replication;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * One change of one replica, as applied by the replica store: its cause, the replica before and after, and the
 * attributes whose value changed. Values stay bytes until {@link #value} decodes one, with the engine's codec and
 * class loader.
 *
 * <p>Threading: immutable; safe from any thread.
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
        return after == null ? null : after.attribute(name, codec, loader);
    }

    /** The value of {@code name} before the change, decoded now; null when absent. */
    public Object previousValue(String name) {
        return before == null ? null : before.attribute(name, codec, loader);
    }

    @Override
    public String toString() {
        return cause + " " + SessionRecord.redact(id) + (previousId == null ? "" : " (was "
                + SessionRecord.redact(previousId) + ")") + " changed " + changedNames;
    }
}
