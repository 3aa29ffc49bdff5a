package io.flotilla.replication;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Which members of the view run this engine (same namespace) and listen: only they are replication targets, asked
 * in a take-over round, or sent a digest. An engine announces {@code READY} to its view when it starts (before it
 * asks for a state transfer, so no delta made during the transfer misses it) and to each member that joins; each
 * {@code READY} is answered with {@code READY_ACK} (the other's own announcement may have reached this node before
 * this engine listened, and was dropped; or the other may not have seen this member leave and come back). A closing engine announces {@code
 * UNREADY}; a member that leaves the view is no longer ready. Until a member's engine listens, nobody replicates to
 * it, so a node that enters the view before its web application starts fails no request (issue 12 case 4); the
 * deltas it was skipped for are pushed to it as full copies once it is ready (the {@link Replicator}'s repairs).
 *
 * <p>Threading: safe from any thread; no lock (concurrent sets and maps, and a cached view rebuilt when the node's view
 * or the set changed). Announcements arrive on the node's delivery threads, joins and departures on the membership
 * listener's thread, ticks on the scheduler.
 */
final class Readiness {
    private final Outbox out;
    private final Set<MemberId> ready = ConcurrentHashMap.newKeySet();
    /** Members that joined and did not say they listen yet, with when to ask them again. */
    private final Map<MemberId, TickBackoff> asking = new ConcurrentHashMap<>();
    /** Members draining (their drain's {@code FLUSH} arrived): no successor for this member's own drain. */
    private final Set<MemberId> draining = ConcurrentHashMap.newKeySet();
    private final Consumer<Member> becameReady;
    private final Runnable changed;
    private final AtomicLong changes = new AtomicLong();
    private volatile Cached cached;

    private record Cached(View of, long changes, View targets) {
    }

    /**
     * {@code becameReady} hears each member that became ready (a digest may be due to it); {@code changed} runs after
     * every change of the targets (a member became ready, left, or stopped listening), outside any lock.
     */
    Readiness(Outbox out, Consumer<Member> becameReady, Runnable changed) {
        this.out = out;
        this.becameReady = becameReady;
        this.changed = changed;
    }

    /** Tells the view this engine listens; call once its listeners are registered. */
    void announce() {
        out.sendQuietly(out.view().othersThan(out.self().id()), ReplicationMessages.kindOnly(ReplicationMessages.READY));
    }

    void joined(Member m) {
        TickBackoff b = new TickBackoff();
        asking.put(m.id(), b);
        ask(m, b);
    }

    /**
     * Once a tick: a member that joined and has not said it listens is asked again, at growing intervals ({@link
     * TickBackoff}), for as long as it stays in the view. The first {@code READY} or its answer can be lost with a
     * connection that breaks as the member comes back (messages abandoned, the member kept in the view), and a member
     * that saw no change of its own view does not announce itself: it would never be a replication target here, and
     * writes would be acknowledged without it. A member whose engine does not listen (a node without this
     * application) answers so, and is not asked again: its engine announces itself when it starts.
     */
    void tick() {
        if (asking.isEmpty()) {
            return;
        }
        View v = out.view();
        for (Map.Entry<MemberId, TickBackoff> e : asking.entrySet()) {
            Optional<Member> m = v.find(e.getKey());
            if (m.isEmpty() || ready.contains(e.getKey())) {
                asking.remove(e.getKey(), e.getValue());
            } else if (e.getValue().due()) {
                ask(m.get(), e.getValue());
            }
        }
    }

    /** {@code READY} to {@code m}, {@code PROCESSED}: its answer says whether its engine listens at all. */
    private void ask(Member m, TickBackoff b) {
        if (out.closed()) {
            return;
        }
        out.sendProcessed(m, ReplicationMessages.kindOnly(ReplicationMessages.READY)).whenComplete((v, e) -> {
            if (e != null && !Outbox.notListening(e).isEmpty()) {
                asking.remove(m.id(), b);
            }
        });
    }

    void left(MemberId m) {
        asking.remove(m);
        draining.remove(m);
        if (ready.remove(m)) {
            changes.incrementAndGet();
            changed.run();
        }
    }

    /** Tells the ready members this engine stops listening; call before the engine stops sending. */
    void closing() {
        out.sendQuietly(targets().othersThan(out.self().id()), ReplicationMessages.kindOnly(ReplicationMessages.UNREADY));
    }

    /** {@code from}'s engine listens; {@code ask}: it wants to hear whether this one does ({@code READY}). */
    void onReady(Member from, boolean ask) {
        draining.remove(from.id());
        if (ask) {
            out.sendQuietly(List.of(from), ReplicationMessages.kindOnly(ReplicationMessages.READY_ACK));
        }
        if (ready.add(from.id())) {
            changes.incrementAndGet();
            becameReady.accept(from);
            changed.run();
        }
    }

    void onUnready(Member from) {
        left(from.id());
    }

    /** {@code m} started a drain: it hands its sessions on and must not be handed others' meanwhile. */
    void draining(MemberId m) {
        draining.add(m);
    }

    /** The targets without the members draining: where this member's own drain may hand sessions. */
    View successors() {
        View targets = targets();
        if (draining.isEmpty()) {
            return targets;
        }
        List<Member> members = new ArrayList<>(targets.size());
        for (Member m : targets.members()) {
            if (!draining.contains(m.id())) {
                members.add(m);
            }
        }
        return new View(targets.id(), members);
    }

    boolean isReady(MemberId m) {
        return ready.contains(m);
    }

    /** The node's view with only this member and the members whose engine listens: the replication targets. */
    View targets() {
        View v = out.view();
        long n = changes.get();
        Cached c = cached;
        if (c != null && c.of() == v && c.changes() == n) {
            return c.targets();
        }
        List<Member> members = new ArrayList<>(v.size());
        for (Member m : v.members()) {
            if (m.id().equals(out.self().id()) || ready.contains(m.id())) {
                members.add(m);
            }
        }
        View targets = new View(v.id(), members);
        cached = new Cached(v, n, targets);
        return targets;
    }
}
