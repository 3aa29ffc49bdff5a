package io.flotilla.replication;

import java.time.Duration;

/**
 * What a drain ({@link ReplicationEngine#drain}) did before this member leaves.
 *
 * <p>Threading: an immutable record.
 *
 * @param handedOver sessions handed to their successor, which confirmed that it owns them
 * @param notHandedOver sessions this member still owned at the end (in use by a request for the whole timeout, or no
 *     other member to take them), and sessions whose successor did not confirm (it left, or did not answer in time):
 *     their holders have every acknowledged write and take each over at its next request, as after a leave without a
 *     drain; counted as {@code flotilla.replication.drain.unhanded} and logged with redacted ids
 * @param flushed whether every replication target confirmed that it processed every change sent before the drain
 *     (asynchronous ones included)
 * @param took how long the drain took, on the engine's clock
 */
public record DrainReport(int handedOver, int notHandedOver, boolean flushed, Duration took) {
    @Override
    public String toString() {
        return handedOver + " session(s) handed over, " + notHandedOver + " not, changes sent before "
                + (flushed ? "confirmed" : "NOT all confirmed") + ", in " + took.toMillis() + " ms";
    }
}
