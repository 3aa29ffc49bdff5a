package io.flotilla.replication;

/**
 * A snapshot of one engine's figures ({@link ReplicationEngine#stats()}): what a host shows (JMX, logs) without
 * reading meters by name. The same figures are meters in the engine's registry (see {@code ReplicationMeters}).
 *
 * <p>Threading: an immutable record; its counts were read one after another without a lock, so they may be a moment
 * apart.
 *
 * @param primarySessions sessions owned here
 * @param replicaSessions replicas held here
 * @param deltasSent deltas sent (one per replication, not per member)
 * @param deltaBytesSent encoded bytes of those deltas
 * @param deltasReceived deltas received from owners
 * @param fullSent full copies sent (answers and repairs)
 * @param fullReceived full copies received
 * @param takeovers sessions taken over here after their owner left
 * @param handoffs sessions this member handed to another that asked for them ({@link ReplicationEngine#moveHere})
 *     or to its successor in a drain ({@link ReplicationEngine#drain})
 * @param expiredPrimaries primaries expired here
 * @param expiredReplicas replicas expired here (owner gone, idle)
 * @param attributesSkipped values not replicated because they could not be encoded ({@code onUnserializable=SKIP})
 * @param attributesUnencodable values that could not be encoded when their request ended ({@code
 *     onUnserializable=FAIL}): those replications failed
 * @param attributesUndecodable values a take-over could not decode here (each counted once; its bytes are kept)
 * @param transferSessionsReceived sessions received by state transfer
 * @param writesDiscarded writes this member discarded when it handed a session it also owned (both sides of a
 *     partition wrote) to the older member at the heal; each is logged with the redacted session id
 */
public record ReplicationStats(long primarySessions, long replicaSessions, long deltasSent, long deltaBytesSent,
        long deltasReceived, long fullSent, long fullReceived, long takeovers, long handoffs, long expiredPrimaries,
        long expiredReplicas, long attributesSkipped, long attributesUnencodable, long attributesUndecodable,
        long transferSessionsReceived, long writesDiscarded) {
}
