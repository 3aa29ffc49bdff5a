package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.Clock;
import io.flotilla.spi.Scheduler;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Hand-offs: a session moves from its live owner to the member that asks for it (a request for it arrived there), so
 * any member can serve any session and the writes of one session never interleave across members.
 *
 * <p>The asker sends {@code HANDOFF_REQUEST} to the owner it knows. The owner answers {@code BUSY} while a request
 * uses the session there ({@link PrimarySession#beginAccess}), {@code NOT_OWNER} when it does not own it, and
 * otherwise releases it ({@link SessionTable#release}: its current state, changes not yet replicated included, becomes
 * its replica; the asker is its owner), tells the other holders with {@code RELEASE} (with the record itself when it
 * holds changes they lack, such as the access time recorded after the last request's replication: otherwise the new
 * owner's first delta would find a gap there; waiting for them, so none refuses the new owner's first delta; under a
 * placement other than ALL every member is told, and the holders of the two owners waited for), and
 * answers {@code GRANTED} with the record ({@code PROCESSED}: until the asker confirms its adoption, this member
 * answers for the session, as its owner to a take-over query and {@code BUSY} to another asker, and a drain does not
 * end). The asker adopts it at that
 * version and announces itself as the owners' take-over does. A busy owner is asked again with a growing pause, until
 * the timeout (the node's); an asker that does not know of a live owner runs a take-over round instead. A grant that
 * arrives after its asker gave up is adopted all the same: the owner let go of the session, and it must not end up
 * owned by nobody. A draining member hands its sessions over the same way, unasked ({@link #push}, see {@link Drain}):
 * a grant is adopted whether or not its receiver asked.
 *
 * <p>Threading: safe from any thread; no lock of its own (a concurrent map of attempts, each completed once).
 * Requests and answers arrive on the node's delivery threads, retries on the engine's scheduler, starts on request
 * threads.
 */
final class Handoff {
    private static final System.Logger LOG = System.getLogger(Handoff.class.getName());
    private static final long FIRST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    private final Outbox out;
    private final ReplicationConfig config;
    private final SessionTable table;
    private final SessionCodec sessionCodec;
    private final Replicator replicator;
    private final Departures departures;
    private final TakeOver takeOver;
    private final Rebalancer rebalancer;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Duration timeout;
    private final Consumer<String> movedAway;
    private final ConcurrentHashMap<String, Attempt> attempts = new ConcurrentHashMap<>();

    /** {@code movedAway} hears each session this member handed over (the host drops its copy). */
    Handoff(Outbox out, ReplicationConfig config, SessionTable table, SessionCodec sessionCodec, Replicator replicator,
            Departures departures, TakeOver takeOver, Rebalancer rebalancer, Clock clock, Scheduler scheduler,
            Duration timeout, Consumer<String> movedAway) {
        this.rebalancer = rebalancer;
        this.movedAway = movedAway;
        this.out = out;
        this.config = config;
        this.table = table;
        this.sessionCodec = sessionCodec;
        this.replicator = replicator;
        this.departures = departures;
        this.takeOver = takeOver;
        this.clock = clock;
        this.scheduler = scheduler;
        this.timeout = timeout;
    }

    /** See {@link ReplicationEngine#moveHere(String, String)}. */
    CompletableFuture<Optional<PrimarySession>> start(String id, String likelyOwner) {
        PrimarySession ps = table.primary(id);
        if (ps != null) {
            return CompletableFuture.completedFuture(Optional.of(ps));
        }
        boolean[] created = new boolean[1];
        Attempt a = attempts.computeIfAbsent(id, k -> {
            created[0] = true;
            return new Attempt(id, clock.nanoTime() + timeout.toNanos());
        });
        if (created[0]) {
            a.guess = named(likelyOwner);
            a.next();
        }
        return a.result.thenApply(x -> x);
    }

    /** The one other member of the view named {@code name}, or null (none, or several: no guess then). */
    private MemberId named(String name) {
        if (name == null || name.isEmpty()) {
            return null;
        }
        MemberId found = null;
        for (Member m : out.view().othersThan(out.self().id())) {
            if (m.name().equals(name)) {
                if (found != null) {
                    return null;
                }
                found = m.id();
            }
        }
        return found;
    }

    // ------------------------------------------------------------------------------------------ owner side

    /** {@code from} asks for the session this member owns. */
    void onRequest(Member from, ReplicationMessages.IdAndVersion q) {
        String id = q.id();
        boolean[] busy = new boolean[1];
        SessionTable.Released released = table.release(id, from.id(), busy);
        String current = table.currentId(id);
        if (released == null && !busy[0] && !current.equals(id)) {
            // Asked by a former id (the asker missed the rename: it refused the delta that carried it, its owner
            // not yet gone in its view): the session under its current id, granted under the id asked for.
            released = table.release(current, from.id(), busy);
        } else {
            current = id;
        }
        if (released == null) {
            // Granted to another member that has not adopted it yet: nobody owns it for a moment; asked again soon,
            // this member then names no owner and the asker's round finds the new one.
            boolean wait = busy[0] || table.granting(id);
            answer(from, new ReplicationMessages.HandoffAnswer(id, wait
                    ? ReplicationMessages.HandoffStatus.BUSY : ReplicationMessages.HandoffStatus.NOT_OWNER, null));
            return;
        }
        // PROCESSED: its result says the asker adopted the session. Until then this member answers for it (a round
        // elsewhere adopts nothing), and a drain does not end (a grant still queued when this node closed would leave
        // the asker to take the session over instead).
        grant(from, id, current, released, Delivery.PROCESSED);
    }

    /** How many sessions released here wait for their new owner to confirm its adoption (a drain waits for them). */
    int grantsInFlight() {
        return table.grantingCount();
    }

    /**
     * Hands the session {@code id} this member owns to {@code to}, unasked (a drain: {@code to} is its successor), as
     * a granted request would: the holders follow {@code to} first, then {@code to} adopts the record.
     *
     * @return null when this member does not own {@code id} or a request uses it ({@code busy[0]} then says so);
     *     else completes once {@code to} adopted the session (its listener processed the grant), or fails when it did
     *     not confirm (left, unreachable, timed out)
     */
    CompletionStage<Void> push(String id, Member to, boolean[] busy) {
        SessionTable.Released released = table.release(id, to.id(), busy);
        return released == null ? null : grant(to, id, id, released, Delivery.PROCESSED);
    }

    /**
     * The owner's side of a hand-off of a session just {@link SessionTable#release}d to {@code to}: the host drops its
     * copy, the other holders are told ({@code RELEASE}, waited for), then {@code to} gets the record ({@code
     * GRANTED}, sent with {@code delivery}; the stage completes per it).
     */
    private CompletionStage<Void> grant(Member to, String asked, String id, SessionTable.Released released,
            Delivery delivery) {
        CompletionStage<Void> granted;
        try {
            granted = grantNow(to, asked, id, released, delivery);
        } catch (RuntimeException e) {
            table.granted(id, null); // nothing is on its way: this member must not go on answering for the session
            throw e;
        }
        // Named to take-over rounds for a while, confirmed or not: one that did not confirm may have adopted it (its
        // confirmation lost), and if it died, a round that finds the chain ending at it takes the session over.
        granted.whenComplete((v, e) -> table.granted(id, to.id()));
        return granted;
    }

    /** {@code asked}: the id {@code to} asked for ({@code id}, or a former id of it), which the answer names. */
    private CompletionStage<Void> grantNow(Member to, String asked, String id, SessionTable.Released released,
            Delivery delivery) {
        replicator.handedOff();
        movedAway.accept(id);
        View targets = replicator.targets();
        List<Member> holders = config.placement().holders(id, out.self(), targets);
        List<Member> others = List.of();
        if (config.placement() != Placement.ALL) {
            // Waited for: this member's holders (they keep their copy, following the new owner, until it drops
            // them) and the new owner's (its first delta goes to them). Every other member hears of the move too,
            // unwaited: one may still hold a copy or an owner from earlier (a copy left where the session passed,
            // a drop on its way), which it forgets rather than follow this member and refuse the new owner.
            Set<Member> waited = new LinkedHashSet<>(holders);
            waited.addAll(config.placement().holders(id, to, targets));
            holders = List.copyOf(waited);
            others = targets.othersThan(out.self().id()).stream().filter(m -> !waited.contains(m)).toList();
        }
        holders = holders.stream().filter(m -> !m.id().equals(to.id()) && !m.id().equals(out.self().id())).toList();
        others = others.stream().filter(m -> !m.id().equals(to.id())).toList();
        SessionRecord r = released.record();
        byte[] record = sessionCodec.encodeRecord(r);
        ReplicationMessages.HandoffAnswer granted = new ReplicationMessages.HandoffAnswer(asked,
                ReplicationMessages.HandoffStatus.GRANTED, record);
        ReplicationMessages.Release release = new ReplicationMessages.Release(id, r.version(), to.id(),
                released.ahead() ? record : null);
        out.sendQuietly(others, config.replicationTopic(), ReplicationMessages.release(release));
        if (holders.isEmpty()) {
            return answer(to, granted, delivery);
        }
        // The holders follow the new owner before it can send them anything: none refuses its first delta.
        return departures.discount(out.send(holders, config.replicationTopic(), ReplicationMessages.release(release),
                Delivery.PROCESSED))
                .handle((v, e) -> {
                    if (e != null) {
                        LOG.log(Level.WARNING, "handing session " + SessionRecord.redact(id) + " to "
                                + to.describe() + ": not every holder confirmed (" + Outbox.cause(e).getMessage()
                                + "); they follow it when its claim arrives");
                    }
                    return null;
                })
                .thenCompose(v -> answer(to, granted, delivery));
    }

    /** {@code from} handed {@code r.id()} to {@code r.newOwner()}: the holders here follow. */
    void onRelease(Member from, ReplicationMessages.Release r) {
        SessionRecord record = r.record() == null ? null : sessionCodec.decodeRecord(r.record());
        if (table.released(out.view(), from, r.id(), r.version(), r.newOwner(), record)) {
            replicator.requestFull(r.id(), table.replicaVersion(r.id()));
        }
    }

    private void answer(Member to, ReplicationMessages.HandoffAnswer a) {
        out.sendQuietly(List.of(to), ReplicationMessages.handoffAnswer(a));
    }

    private CompletionStage<Void> answer(Member to, ReplicationMessages.HandoffAnswer a, Delivery delivery) {
        return out.send(List.of(to), config.replicationTopic(), ReplicationMessages.handoffAnswer(a), delivery);
    }

    // ------------------------------------------------------------------------------------------ asker side

    void onAnswer(Member from, ReplicationMessages.HandoffAnswer a) {
        Attempt at = attempts.get(a.id());
        switch (a.status()) {
            case GRANTED -> {
                // adopted even when nobody waits any more: the owner let go of it
                PrimarySession ps = table.adoptHandedOver(sessionCodec.decodeRecord(a.record()), a.id(),
                        replicator::resume, replicator::claim);
                LOG.log(Level.DEBUG, () -> "session " + SessionRecord.redact(a.id()) + " handed over by "
                        + from.describe() + " at version " + ps.version());
                List<Member> holding = new ArrayList<>(config.placement().holders(ps.id(), from, replicator.targets()));
                holding.add(from);
                rebalancer.moved(ps, holding);
                if (at != null) {
                    at.complete(Optional.of(ps), null);
                }
            }
            case BUSY, NOT_OWNER -> {
                if (at != null && from.id().equals(at.asked)) {
                    if (a.status() == ReplicationMessages.HandoffStatus.NOT_OWNER) {
                        at.refused.add(from.id());
                        if (from.id().equals(at.guess)) {
                            at.guess = null;
                            at.next(); // only a guess: the round decides, without a pause
                            return;
                        }
                    }
                    at.retry(a.status() == ReplicationMessages.HandoffStatus.BUSY
                            ? "a request uses it on member " + from.describe()
                            : "member " + from.describe() + " no longer owns it");
                }
            }
        }
    }

    /** A member left the view: an attempt waiting for it asks again (a take-over round, when it was the owner). */
    void left(MemberId member) {
        for (Attempt a : attempts.values()) {
            if (member.equals(a.asked)) {
                a.next();
            }
        }
    }

    /** One hand-off of one session: whom it asked, until when it tries. */
    private final class Attempt {
        final String id;
        final long deadline;
        final CompletableFuture<Optional<PrimarySession>> result = new CompletableFuture<>();
        private volatile MemberId asked;
        /** The live owner a take-over round named (this member holds no copy, so knows no owner). */
        private volatile MemberId hint;
        /** The member the caller named as the likely owner, asked before a round when no owner is known here. */
        volatile MemberId guess;
        /** Members that answered they do not own it: the owner known here is stale; a take-over round finds it. */
        private final Set<MemberId> refused = ConcurrentHashMap.newKeySet();
        private long pause = FIRST_PAUSE_NANOS; // guarded by this

        Attempt(String id, long deadline) {
            this.id = id;
            this.deadline = deadline;
        }

        /** Asks the owner known now; without a live one, a take-over round decides. */
        void next() {
            if (result.isDone()) {
                return;
            }
            Optional<Member> live = liveOther(table.owner(id)).or(() -> liveOther(hint)).or(() -> liveOther(guess));
            if (live.isEmpty()) {
                asked = null;
                // With a stale owner known here (it said it does not own it), the round asks everyone all the same.
                takeOver.start(id, !refused.isEmpty()).whenComplete((ps, e) -> {
                    MemberId named = e != null && Outbox.cause(e) instanceof TakeOverException t ? t.liveOwner() : null;
                    // A member said it owns it, or was handed it lately (it may have refused before its adoption):
                    // this member holds no copy, so knew no owner. Asked again after a pause if it refused before.
                    boolean refusedBefore = named != null && refused.remove(named);
                    if (named != null && liveOther(named).isPresent()) {
                        hint = named;
                        if (refusedBefore) {
                            retry("member " + out.view().find(named).map(Member::describe).orElse("?")
                                    + " was handed it, but did not own it when asked");
                        } else {
                            next();
                        }
                    } else if ((e == null ? ps.isEmpty() : Outbox.cause(e) instanceof TakeOverException)
                            && liveOther(table.owner(id)).isPresent()) {
                        retry("its owner is known now"); // the round saw a live owner, or one claimed it since: ask it
                    } else {
                        complete(ps, e);
                    }
                });
                return;
            }
            MemberId owner = live.get().id();
            asked = owner;
            out.send(List.of(live.get()), config.replicationTopic(), ReplicationMessages.idAndVersion(
                    ReplicationMessages.HANDOFF_REQUEST, id, table.replicaVersion(id)), Delivery.PROCESSED)
                    .whenComplete((v, e) -> {
                        if (e != null) {
                            complete(null, new TakeOverException("session " + SessionRecord.redact(id)
                                    + " could not be asked of its owner " + live.get().describe() + ": "
                                    + Outbox.cause(e).getMessage()));
                        }
                    });
        }

        private Optional<Member> liveOther(MemberId m) {
            return m == null || m.equals(out.self().id()) || refused.contains(m) ? Optional.empty()
                    : out.view().find(m);
        }

        synchronized void retry(String why) {
            long now = clock.nanoTime();
            if (now + pause > deadline) {
                complete(null, new TakeOverException("session " + SessionRecord.redact(id) + " not moved here within "
                        + timeout.toMillis() + " ms: " + why));
                return;
            }
            long wait = pause;
            pause = Math.min(MAX_PAUSE_NANOS, pause * 2);
            scheduler.schedule(this::next, wait);
        }

        void complete(Optional<PrimarySession> ps, Throwable e) {
            attempts.remove(id, this);
            if (e != null) {
                result.completeExceptionally(Outbox.cause(e));
            } else {
                result.complete(ps == null ? Optional.empty() : ps);
            }
        }
    }
}
