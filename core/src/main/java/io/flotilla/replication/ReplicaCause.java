package io.flotilla.replication;

/**
 * Why a replica held on this member changed, as told to a {@link ReplicaListener} (the shape of Caffeine's {@code
 * RemovalCause}).
 *
 * <p>Threading: an enum; safe from any thread.
 */
public enum ReplicaCause {
    /** The first copy of a session arrived by replication: its creating delta, or a full copy asked of its owner. */
    CREATED,
    /** A delta or a newer full copy changed it; {@link ReplicaChange#changedNames()} names the attributes. */
    UPDATED,
    /** State transfer brought or replaced it (stock announces no such session either). */
    TRANSFERRED,
    /** Its owner ended it (invalidated, or expired on the owner). */
    ENDED,
    /** Expired here: its owner left the view and it stayed idle for twice its max inactive interval. */
    EXPIRED,
    /** This member took it over (failover): it is a primary here now, no longer a replica. */
    TAKEN_OVER,
    /**
     * Dropped here without ending: its owner does not know it, another member claimed it at a version this member
     * does not hold (a full copy is asked for and arrives as {@link #CREATED}), or it was handed to an older owner.
     */
    REMOVED;

    /** Whether the replica is gone after a change of this cause. */
    public boolean removes() {
        return this == ENDED || this == EXPIRED || this == TAKEN_OVER || this == REMOVED;
    }
}
