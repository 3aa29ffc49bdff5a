package io.flotilla.replication;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Every meter of the replication engine, declared in one place, under {@code flotilla.replication.}. Tags are of
 * low cardinality (a reason, a side); never a session id or a member.
 *
 * <p>Threading: safe from any thread.
 */
final class ReplicationMeters {
    /** Why the engine itself (not the replica store) did not apply an incoming message. */
    enum EngineDrop {
        /** A message that does not parse, or a delta or record the session codec refuses. */
        MALFORMED,
        /** A delta for a session this member owns, from another member (a lost ownership race). */
        NOT_OWNER,
        /** A chunk of a state transfer this member no longer waits for. */
        STALE_TRANSFER,
        /** A message kind this version does not know. */
        UNKNOWN_KIND
    }

    final Counter deltasSent;
    final DistributionSummary deltaBytes;
    final Counter deltasReceived;
    final Counter fullRequestsSent;
    final Counter fullRequestsReceived;
    final Counter fullSent;
    final Counter fullReceived;
    final Counter repairs;
    final Counter rebalanced;
    final Counter pushesFailed;
    final Counter departedTargets;
    final Counter takeovers;
    final Counter handoffs;
    final Counter drainUnhanded;
    final Counter ownershipChanges;
    final Counter writesDiscarded;
    final Counter expiredPrimary;
    final Counter expiredReplica;
    final Counter attributesSkipped;
    final Counter attributesUnencodable;
    final Counter attributesUndecodable;
    final Counter mutationsDetected;
    final Counter accessOnlyDeltas;
    final Counter transferSessionsSent;
    final Counter transferSessionsReceived;
    final DistributionSummary transferChunkBytes;
    final Counter callbackErrors;
    private final Map<EngineDrop, AtomicLong> engineDrops = new EnumMap<>(EngineDrop.class);
    private final Tags tags;

    /** With {@code tags} on every meter (the engine's namespace, so engines can share one registry). */
    ReplicationMeters(MeterRegistry r, Tags tags, ReplicaStore store, Supplier<Number> primaries,
            Supplier<Number> replicas) {
        this.tags = tags;
        deltasSent = counter(r, "flotilla.replication.deltas.sent", "deltas sent, one per replication (not per member)");
        deltaBytes = DistributionSummary.builder("flotilla.replication.delta.bytes").baseUnit("bytes")
                .description("encoded delta sizes").tags(tags).register(r);
        deltasReceived = counter(r, "flotilla.replication.deltas.received", "deltas received from owners");
        fullRequestsSent = counter(r, "flotilla.replication.full.requests.sent",
                "full sessions asked of an owner after a gap");
        fullRequestsReceived = counter(r, "flotilla.replication.full.requests.received",
                "full sessions other members asked for");
        fullSent = counter(r, "flotilla.replication.full.sent", "full sessions sent (answers and repairs)");
        fullReceived = counter(r, "flotilla.replication.full.received", "full sessions received");
        departedTargets = counter(r, "flotilla.replication.departed_targets",
                "replication targets that stopped answering and left the view, so did not fail the replication");
        repairs = counter(r, "flotilla.replication.repairs",
                "full sessions pushed to a member whose delta the node abandoned");
        rebalanced = counter(r, "flotilla.replication.rebalanced",
                "primaries whose copies moved to new holders after a view change (a placement other than ALL)");
        pushesFailed = counter(r, "flotilla.replication.push.failed", "full copies a new holder did not take (it was "
                + "unreachable, timed out or refused): the old copies stay until a view change or write places it");
        takeovers = counter(r, "flotilla.replication.takeovers", "sessions this member took over after a failover");
        handoffs = counter(r, "flotilla.replication.handoffs",
                "sessions this member handed to a member that asked, or to its successor in a drain");
        drainUnhanded = counter(r, "flotilla.replication.drain.unhanded",
                "sessions a drain could not hand over (in use past its timeout, no other member, or not confirmed)");
        ownershipChanges = counter(r, "flotilla.replication.ownership.changes",
                "announcements that another member owns a session now");
        writesDiscarded = counter(r, "flotilla.replication.writes.discarded",
                "writes a member discarded when it handed a session it also owned to the older member at a heal");
        expiredPrimary = Counter.builder("flotilla.replication.expired").tag("side", "primary")
                .description("sessions expired").tags(tags).register(r);
        expiredReplica = Counter.builder("flotilla.replication.expired").tag("side", "replica")
                .description("sessions expired").tags(tags).register(r);
        attributesSkipped = counter(r, "flotilla.replication.attributes.skipped",
                "attribute values not replicated because they could not be encoded (onUnserializable=SKIP)");
        attributesUnencodable = counter(r, "flotilla.replication.attributes.unencodable",
                "attribute values that could not be encoded at the end of a request (onUnserializable=FAIL): the "
                        + "request's replication failed");
        attributesUndecodable = counter(r, "flotilla.replication.attributes.undecodable",
                "taken-over attribute values that could not be decoded here (their bytes are kept)");
        mutationsDetected = counter(r, "flotilla.replication.mutations.detected",
                "attributes changed in place found by mutation detection");
        accessOnlyDeltas = counter(r, "flotilla.replication.access.deltas",
                "deltas that carried only a last-access time (rate-limited by accessInterval)");
        transferSessionsSent = counter(r, "flotilla.replication.transfer.sessions.sent", "sessions sent to joiners");
        transferSessionsReceived = counter(r, "flotilla.replication.transfer.sessions.received",
                "sessions received by state transfer");
        transferChunkBytes = DistributionSummary.builder("flotilla.replication.transfer.chunk.bytes").baseUnit("bytes")
                .description("state-transfer chunk sizes").tags(tags).register(r);
        callbackErrors = counter(r, "flotilla.replication.callback.errors", "application callbacks that threw");
        for (ReplicaStore.DropReason reason : ReplicaStore.DropReason.values()) {
            FunctionCounter.builder("flotilla.replication.dropped", store, s -> s.dropped(reason))
                    .tag("reason", reason.name().toLowerCase(Locale.ROOT))
                    .description("incoming updates not applied, by reason").tags(tags).register(r);
        }
        for (EngineDrop reason : EngineDrop.values()) {
            AtomicLong n = new AtomicLong();
            engineDrops.put(reason, n);
            FunctionCounter.builder("flotilla.replication.dropped", n, AtomicLong::get)
                    .tag("reason", reason.name().toLowerCase(Locale.ROOT))
                    .description("incoming updates not applied, by reason").tags(tags).register(r);
        }
        Gauge.builder("flotilla.replication.sessions", primaries).tag("side", "primary")
                .description("sessions held").tags(tags).register(r);
        Gauge.builder("flotilla.replication.sessions", replicas).tag("side", "replica")
                .description("sessions held").tags(tags).register(r);
        Gauge.builder("flotilla.replication.buffered", store, ReplicaStore::buffered)
                .description("early deltas waiting for a gap to close").tags(tags).register(r);
    }

    /** The figures a host shows, read now. */
    ReplicationStats stats(long primaries, long replicas) {
        return new ReplicationStats(primaries, replicas, count(deltasSent), (long) deltaBytes.totalAmount(),
                count(deltasReceived), count(fullSent), count(fullReceived), count(takeovers), count(handoffs),
                count(expiredPrimary),
                count(expiredReplica), count(attributesSkipped), count(attributesUnencodable),
                count(attributesUndecodable), count(transferSessionsReceived), count(writesDiscarded));
    }

    private static long count(Counter c) {
        return (long) c.count();
    }

    void drop(EngineDrop reason) {
        engineDrops.get(reason).incrementAndGet();
    }

    long dropped(EngineDrop reason) {
        return engineDrops.get(reason).get();
    }

    private Counter counter(MeterRegistry r, String name, String description) {
        return Counter.builder(name).description(description).tags(tags).register(r);
    }
}
