package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Keeps the copies of this member's primaries where a placement other than {@link Placement#ALL} says, as the
 * replication targets change (a member became ready, left the view, or closed its engine): for each primary whose
 * holders changed, the new holders get its full copy, and once every one of them applied it, the holders placement
 * no longer names (and that are still in the view) are told to drop theirs. A copy is never dropped before its
 * replacement is held, so a write acknowledged by the holders of the moment stays on at least as many members; a
 * failed or refused push leaves the old copies where they are, counted and logged (the next change, or a later
 * write's repair, tries again). Only the sessions whose placement changed move: about {@code backups / N} of them
 * when one member of N joins or leaves. Requests are not blocked: the pushes are asynchronous, and a delta sent
 * meanwhile reaches the new holders, which ask for the full copy if it came first.
 *
 * <p>With {@link Placement#ALL} a joiner gets every session by state transfer instead, and this does nothing.
 *
 * <p>Threading: safe from any thread; one change at a time (this object's lock, held while the primaries are walked
 * and the pushes are started, never while waiting for them). Changes arrive on the node's delivery threads and the
 * membership listener's thread.
 */
final class Rebalancer {
    private final Outbox out;
    private final Placement placement;
    private final SessionTable table;
    private final Replicator replicator;
    private final Readiness readiness;
    private final ReplicationMeters meters;
    private View last; // guarded by this: the targets the last rebalance placed copies for

    Rebalancer(Outbox out, Placement placement, SessionTable table, Replicator replicator, Readiness readiness,
            ReplicationMeters meters) {
        this.out = out;
        this.placement = placement;
        this.table = table;
        this.replicator = replicator;
        this.readiness = readiness;
        this.meters = meters;
    }

    /** The replication targets may have changed: moves the copies whose placement did. */
    synchronized void targetsChanged() {
        if (placement == Placement.ALL || out.closed()) {
            return;
        }
        View now = readiness.targets();
        View before = last;
        last = now;
        if (before == null || sameMembers(before, now)) {
            return;
        }
        Member self = out.self();
        for (PrimarySession ps : table.primaries()) {
            if (ps.isHandedOver()) {
                continue;
            }
            String id = ps.id();
            List<Member> was = placement.holders(id, self, before);
            List<Member> is = placement.holders(id, self, now);
            List<Member> added = minus(is, was);
            if (added.isEmpty()) {
                continue; // a holder that left is not replaced by anyone (fewer members than backups), or none moved
            }
            List<Member> displaced = new ArrayList<>();
            for (Member m : minus(was, is)) {
                if (now.contains(m.id())) {
                    displaced.add(m);
                }
            }
            meters.rebalanced.increment();
            pushThenDrop(ps, added, displaced);
        }
    }

    /**
     * {@code ps} became owned here by a take-over or a hand-off; {@code holding} are the members known to hold a copy
     * (the round's answers, or the former owner and its holders). The holders placement names for this member get
     * its full copy, and once each applied it, the other holders are told to drop theirs: copies do not pile up on
     * the members a session passed through.
     */
    void moved(PrimarySession ps, List<Member> holding) {
        if (placement == Placement.ALL || out.closed()) {
            return;
        }
        String id = ps.id();
        View targets = readiness.targets();
        List<Member> placed = placement.holders(id, out.self(), targets);
        List<Member> displaced = new ArrayList<>();
        for (Member m : minus(holding, placed)) {
            if (!m.id().equals(out.self().id()) && targets.contains(m.id())) {
                displaced.add(m);
            }
        }
        if (placed.isEmpty()) {
            return; // alone: the copies elsewhere stay until someone can hold one
        }
        pushThenDrop(ps, placed, displaced);
    }

    /** {@code ps}'s full copy to {@code to}; once each has it, and {@code ps} is still owned here, the others drop. */
    private void pushThenDrop(PrimarySession ps, List<Member> to, List<Member> displaced) {
        String id = ps.id();
        replicator.push(to, ps).whenComplete((v, e) -> {
            // ps.id(): a rename since (a jvmRoute rewrite on the new owner) leaves the displaced copies under id
            if (table.primary(ps.id()) != ps) {
                return; // moved away or closed meanwhile: its new owner places it
            }
            if (e != null) {
                replicator.pushFailed(to, ps.id(), e);
            } else if (!displaced.isEmpty()) {
                replicator.dropCopies(displaced, id);
            }
        });
    }

    private static boolean sameMembers(View a, View b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (Member m : a.members()) {
            if (!b.contains(m.id())) {
                return false;
            }
        }
        return true;
    }

    private static List<Member> minus(List<Member> a, List<Member> b) {
        Set<MemberId> ids = new HashSet<>();
        for (Member m : b) {
            ids.add(m.id());
        }
        List<Member> out = new ArrayList<>();
        for (Member m : a) {
            if (!ids.contains(m.id())) {
                out.add(m);
            }
        }
        return out;
    }
}
