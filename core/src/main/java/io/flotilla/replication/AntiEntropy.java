package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MessageRefusedException;
import io.flotilla.View;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reconciliation at a heal or a rejoin: when a member this engine has seen before joins the view again (it paused
 * past {@code dropTime}, or a partition healed), this member sends it a digest of its primaries, their versions,
 * the versions their ownership began at and the versions their holders acknowledged, in chunks of at most {@link
 * #CHUNK} entries. The joined member treats each entry as an ownership announcement ({@link Replicator#onClaim}): a
 * session it owns too is contested at once ({@link SessionTable#contest}; the loser counts and logs the writes it
 * discards, tells its holders to follow the winner and fetches the winner's copy, the winner announces itself again
 * to its holders); one it lacks or holds at another version is fetched from the owner. It also repeats the
 * releases of the sessions it handed over (and still holds) to their new owners: the joined member missed them while
 * it was away, and would otherwise follow this member and refuse the new owner ({@link Handoff}). Both
 * sides of a heal see the other join, so each side learns the other's sessions. A member seen for the first time (a
 * new incarnation) gets no digest: it starts empty and asks for a state transfer. The digest and the releases go
 * {@code PROCESSED}; when they fail while the member stays in the view (its connection broke at the heal and the
 * messages were abandoned), they are sent again at the ticks that follow, for as long as it stays: without them the
 * member would keep its stale copies and primaries (and serve such a primary once the real owner is gone).
 *
 * <p>Threading: safe from any thread; no lock (concurrent maps of the members seen and the digests owed). Joins
 * arrive on the membership listener's thread, digests on the node's delivery threads, ticks on the scheduler.
 */
final class AntiEntropy {
    private static final System.Logger LOG = System.getLogger(AntiEntropy.class.getName());

    /** Entries per digest message: about 60 bytes each with a 32-character id. */
    static final int CHUNK = 500;
    /** Failed attempts at a member's digest after which each further failure is logged (it is still retried). */
    static final int WARN_AFTER = 10;

    /** The digest a member is owed; identity matters (a later join replaces it). */
    private static final class Owed {
        /** Touched by the ticks only. */
        final TickBackoff backoff = new TickBackoff();
        volatile boolean sending = true;
        volatile String failure;
    }

    private final Outbox out;
    private final SessionTable table;
    private final Replicator replicator;
    private final Set<MemberId> seen = ConcurrentHashMap.newKeySet();
    /** Per member that came back: the digest it is owed, until one was processed there. */
    private final Map<MemberId, Owed> owed = new ConcurrentHashMap<>();
    /** Per member whose state transfer ended: the sessions owned here it listed so far (VERSIONS in chunks). */
    private final Map<MemberId, Set<String>> reported = new ConcurrentHashMap<>();

    AntiEntropy(Outbox out, SessionTable table, Replicator replicator) {
        this.out = out;
        this.table = table;
        this.replicator = replicator;
    }

    /**
     * The engine listens to the membership now: the members of the view are seen. Not earlier (at construction): a
     * member that joined between the two was neither in that view nor announced by a join, and when it came back from
     * a pause it got no digest and stayed at its stale versions for good (found by {@code OwnershipFaultIT}). A member
     * that joins while this runs may be counted here and then announced: it gets a digest it does not need (its
     * claims are fetched like any owner's), never none.
     */
    void listening() {
        for (Member m : out.view().members()) {
            seen.add(m.id());
        }
    }

    /** {@code member} joined the view: a digest of this member's primaries when it was seen before. */
    void joined(Member member) {
        if (seen.add(member.id()) || out.closed()) {
            return; // first seen: a new incarnation, which asks for a state transfer
        }
        Owed o = new Owed();
        owed.put(member.id(), o);
        send(member, o);
    }

    /**
     * Once a tick: a digest that failed is built afresh and sent again while its member is in the view, at growing
     * intervals ({@link TickBackoff}); never given up while it stays, since a member without it may keep a primary at
     * a stale version and serve it once the real owner is gone.
     */
    void tick() {
        if (owed.isEmpty()) {
            return;
        }
        View view = out.view();
        for (Map.Entry<MemberId, Owed> e : owed.entrySet()) {
            Owed o = e.getValue();
            if (o.sending) {
                continue;
            }
            Optional<Member> m = view.find(e.getKey());
            if (m.isEmpty() || out.closed()) {
                owed.remove(e.getKey(), o);
            } else if (o.backoff.due()) {
                if (o.backoff.attempts() >= WARN_AFTER) {
                    LOG.log(Level.WARNING, "the heal digest to " + m.get().describe() + " failed "
                            + o.backoff.attempts() + " times (last: " + o.failure + "); sending it again");
                }
                o.sending = true;
                send(m.get(), o);
            }
        }
    }

    /**
     * Sends {@code member} this member's digest and the releases it missed, {@code PROCESSED}: when any of them fails
     * (a connection lost at the heal, so the message was abandoned; the member's engine refused it), a later tick
     * sends them again ({@link #tick}). A member whose engine does not listen is owed nothing.
     */
    private void send(Member member, Owed o) {
        CompletionStage<Void> sent = CompletableFuture.completedFuture(null);
        List<ReplicationMessages.DigestEntry> chunk = new ArrayList<>();
        for (PrimarySession ps : table.primaries()) {
            long version;
            synchronized (ps) {
                if (ps.isHandedOver()) {
                    continue;
                }
                SessionRecord snap = ps.recorder().snapshot();
                if (snap == null) {
                    continue; // created but never replicated: its first delta creates it there
                }
                version = snap.version();
            }
            chunk.add(new ReplicationMessages.DigestEntry(ps.id(), version, table.ownedSince(ps.id()),
                    table.acknowledged(ps.id())));
            if (chunk.size() == CHUNK) {
                sent = Outbox.both(sent, out.sendProcessed(member, ReplicationMessages.digest(chunk)));
                chunk = new ArrayList<>();
            }
        }
        if (!chunk.isEmpty()) {
            sent = Outbox.both(sent, out.sendProcessed(member, ReplicationMessages.digest(chunk)));
        }
        // It missed the releases of sessions handed over while it was away: it would follow this member (the older,
        // perhaps) and refuse the new owner. Version -1: it fetches the new owner's copy whatever it holds.
        View view = out.view();
        for (Map.Entry<String, MemberId> e : table.handedTo().entrySet()) {
            if (!e.getValue().equals(member.id()) && view.contains(e.getValue())) {
                sent = Outbox.both(sent, out.sendProcessed(member, ReplicationMessages.release(
                        new ReplicationMessages.Release(e.getKey(), -1, e.getValue(), null))));
            }
        }
        sent.whenComplete((v, e) -> {
            if (e == null || !Outbox.notListening(e).isEmpty()) {
                owed.remove(member.id(), o);
            } else {
                o.failure = Outbox.cause(e).toString();
                o.sending = false;
            }
        });
    }

    /**
     * After this member's state transfer: each other live member is told the versions received of the sessions it
     * owns, in one or more VERSIONS messages (the last one flagged, sent even when there is nothing to list). The
     * owner pushes the full copy of each of its sessions this member holds at another version or does not hold at
     * all: the transfer's source may lag behind an owner (a delta sent just before the source was a target again
     * after a heal reaches it later, as a repair), or may have dropped its copy for a moment (a heal's other line of
     * writes, fetched again), and without a later write nothing would bring this member's copy up to date.
     */
    void verifyTransferred() {
        View view = out.view();
        Map<MemberId, List<ReplicationMessages.DigestEntry>> byOwner = new HashMap<>();
        for (Member m : view.othersThan(out.self().id())) {
            byOwner.put(m.id(), new ArrayList<>());
        }
        for (String id : table.replicaIds()) {
            MemberId owner = table.owner(id);
            List<ReplicationMessages.DigestEntry> owned = owner == null ? null : byOwner.get(owner);
            if (owned != null) {
                owned.add(new ReplicationMessages.DigestEntry(id, table.replicaVersion(id), -1, -1));
            }
        }
        for (Map.Entry<MemberId, List<ReplicationMessages.DigestEntry>> e : byOwner.entrySet()) {
            Member owner = view.find(e.getKey()).orElseThrow();
            List<ReplicationMessages.DigestEntry> all = e.getValue();
            int from = 0;
            do {
                int to = Math.min(all.size(), from + CHUNK);
                out.sendQuietly(List.of(owner), ReplicationMessages.versions(all.subList(from, to), to == all.size()));
                from = to;
            } while (from < all.size());
        }
    }

    /**
     * {@code from} received these versions of sessions owned here by state transfer: the ones owned here at another
     * version are pushed to it at once; after its last message, the ones it should hold (placement) and did not list.
     */
    void onVersions(Member from, ReplicationMessages.Versions versions) {
        Set<String> listed = reported.computeIfAbsent(from.id(), k -> ConcurrentHashMap.newKeySet());
        for (ReplicationMessages.DigestEntry e : versions.entries()) {
            listed.add(e.id());
            PrimarySession ps = table.primary(e.id());
            if (ps != null && !holdsNow(ps, e.version())) {
                replicator.repair(from, ps);
            }
        }
        if (!versions.last()) {
            return;
        }
        reported.remove(from.id());
        View view = out.view();
        for (PrimarySession ps : table.primaries()) {
            if (!listed.contains(ps.id()) && !ps.isHandedOver() && table.held(ps.id()) != null
                    && replicator.placed(ps.id(), from, view)) {
                replicator.repair(from, ps);
            }
        }
    }

    /**
     * Whether a member that received {@code version} of {@code ps} by state transfer holds it as replicated or as it
     * is now: the transfer sends a primary's changes not yet replicated too (a last access after the replication, as
     * at the end of every session's first request), one version or more ahead of its last replicated state, and the
     * next replication reaches that copy (a delta ending at its version is a duplicate there; one ending later makes it
     * ask for the full session). Only another version is pushed; a session never replicated is not (its first delta
     * creates it). Reads versions only: nothing is encoded.
     */
    private static boolean holdsNow(PrimarySession ps, long version) {
        synchronized (ps) {
            SessionRecord snap = ps.recorder().snapshot();
            return snap == null || snap.version() == version || ps.recorder().version() == version;
        }
    }

    /**
     * {@code member} left the view: its unfinished list of versions goes (it asks for a transfer if it comes back), and
     * the digest it is owed (it gets a new one if it comes back).
     */
    void left(MemberId member) {
        reported.remove(member);
        owed.remove(member);
    }

    /** A digest from {@code from}: each entry is its claim of one session. */
    void onDigest(Member from, List<ReplicationMessages.DigestEntry> entries) throws MessageRefusedException {
        View view = out.view();
        if (!view.contains(from.id())) {
            // not (or no longer) a member here: its sender tries again at its next tick
            throw new MessageRefusedException("digest from " + from.describe() + ", not a member here");
        }
        for (ReplicationMessages.DigestEntry e : entries) {
            replicator.onClaim(from, e.id(), e.version(), e.since(), e.acknowledged(), true);
        }
    }
}
