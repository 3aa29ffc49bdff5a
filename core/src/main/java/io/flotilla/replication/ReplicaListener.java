package io.flotilla.replication;

/**
 * Told of every change of the replicas held on this member, in the order the replica store applied them: the hook a
 * container uses to run its session listeners on a backup (Tomcat's {@code notifyListenersOnReplication}) without
 * reading the replication stream itself. Register it with {@link ReplicationEngine.Builder#replicaListener}.
 *
 * <p>Threading: called on the thread that applied the change (a delivery thread for messages, the expiry timer, a
 * request thread for a take-over), one call at a time per engine, in apply order, with no engine lock held. It must
 * not block for long: the next change of every replica waits for it. One that throws is logged, counted ({@code
 * flotilla.replication.callback.errors}) and skipped.
 */
@FunctionalInterface
public interface ReplicaListener {
    /** A replica changed; {@code change} is valid only during this call if it decodes values lazily. */
    void onChange(ReplicaChange change);
}
