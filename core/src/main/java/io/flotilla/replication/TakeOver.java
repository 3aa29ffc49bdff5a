package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.RemoteProcessingException;
import io.flotilla.View;
import io.flotilla.spi.Scheduler;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Take-over rounds: before a member makes a replica its primary, it learns the newest copy held in its view, in one
 * round trip. It asks every other member of the view for its version of the session; each answers its version,
 * whether it owns the session, whether it is itself in a round for it, what became of it if the answerer owned it
 * lately (handed to a member, or ended at a version), and its record when newer than the asker's. The round ends when
 * every asked member answered or left the view; then the newest record becomes the primary here at its version
 * ({@link SessionTable#adopt}; none when the session ended at that version or later) and is announced as before. A
 * live owner among the answers, a live member a chain of recent hand-offs ends at, or an older member in its own round
 * for the session, aborts it; so does a member that neither answers nor leaves within the timeout (the node's). A
 * member still silent after a sixth of the timeout is verified at once ({@code Node.suspect}), so one that crashed
 * with the owner leaves the view in time. An aborted round fails with {@link TakeOverException}: the caller never gets
 * an empty or stale session silently. A member whose node has no listener for the topic, or whose engines all serve
 * other namespaces (they decline the query), answers nothing and counts as holding nothing.
 *
 * <p>The answers are no snapshot: during a hand-off, the query may reach the new owner before its adoption and the old
 * owner after the new one confirmed it. So the old owner names the new one for a while after ({@link
 * SessionTable#lately}; a member named that answered with no such word of its own may not have adopted it yet, so
 * the round fails naming it), and when an asked member leaves before it answered (a drain ends as soon as its new
 * owners confirmed), the others are asked again: the new owner answers as the owner by then.
 *
 * <p>Concurrent takers: a member in a round that is asked by an older member aborts its own round; an asker told
 * that an older member is in a round aborts. Whatever overlaps anyway (rounds that did not meet) is settled by the
 * contest rule when their announcements meet.
 *
 * <p>Threading: safe from any thread. Each round has its own lock, taken before the table's; a round's future is
 * completed with no lock held. Queries are answered on the node's delivery threads; rounds start on request threads.
 */
final class TakeOver {
    private static final System.Logger LOG = System.getLogger(TakeOver.class.getName());
    /** Members silent after this fraction of the timeout are verified (a crashed one then leaves the view). */
    private static final int PROBE_FRACTION = 6;

    private final Outbox out;
    private final ReplicationConfig config;
    private final SessionTable table;
    private final SessionCodec sessionCodec;
    private final Replicator replicator;
    private final Rebalancer rebalancer;
    private final Scheduler scheduler;
    private final Duration timeout;
    private final ConcurrentHashMap<String, Round> rounds = new ConcurrentHashMap<>();

    TakeOver(Outbox out, ReplicationConfig config, SessionTable table, SessionCodec sessionCodec,
            Replicator replicator, Rebalancer rebalancer, Scheduler scheduler, Duration timeout) {
        this.rebalancer = rebalancer;
        this.out = out;
        this.config = config;
        this.table = table;
        this.sessionCodec = sessionCodec;
        this.replicator = replicator;
        this.scheduler = scheduler;
        this.timeout = timeout;
    }

    /** See {@link ReplicationEngine#takeOver}. */
    CompletableFuture<Optional<PrimarySession>> start(String id) {
        return start(id, false);
    }

    /**
     * As {@link #start(String)}; {@code ownerRefused}: the live owner known here said it does not own the session
     * (a stale follow), so the round runs all the same and an answer that owns it names the owner.
     */
    CompletableFuture<Optional<PrimarySession>> start(String id, boolean ownerRefused) {
        PrimarySession ps = table.primary(id);
        if (ps != null) {
            return CompletableFuture.completedFuture(Optional.of(ps));
        }
        View view = out.view();
        MemberId owner = table.owner(id);
        if (!ownerRefused && owner != null && !owner.equals(SessionTable.UNKNOWN_OWNER)
                && !owner.equals(out.self().id()) && view.contains(owner)) {
            return CompletableFuture.completedFuture(Optional.empty()); // its owner is alive: requests go there
        }
        boolean[] created = new boolean[1];
        Round r = rounds.computeIfAbsent(id, k -> {
            created[0] = true;
            return new Round(id, view.othersThan(out.self().id()));
        });
        if (created[0]) {
            r.begin();
        }
        return r.result.thenApply(x -> x);
    }

    /** Another member asks for this member's copy of {@code id}; {@code have} is the asker's version (-1: none). */
    void onQuery(Member from, ReplicationMessages.IdAndVersion q) {
        String id = q.id();
        SessionTable.Held held = table.held(id);
        long version = held == null ? -1 : held.record().version();
        String current = table.currentId(id);
        // Owned here under the id it was renamed to counts: the asker missed the rename (it refused the delta that
        // carried it while the former owner was still in its view), and its copy under the former id is no owner's.
        // So does a session released here whose new owner has not confirmed its adoption: nobody else owns it yet.
        boolean owns = table.primary(id) != null || !current.equals(id) && table.primary(current) != null
                || table.granting(id);
        Round mine = rounds.get(id);
        if (mine != null && SessionTable.older(out.view(), from.id(), out.self().id())) {
            mine.fail("older member " + from.describe() + " takes session " + SessionRecord.redact(id)
                    + " over at the same time");
        }
        SessionTable.Gone gone = owns ? null : table.lately(id);
        byte[] record = held != null && version > q.version() ? sessionCodec.encodeRecord(held.record()) : null;
        out.sendQuietly(List.of(from), ReplicationMessages.answer(new ReplicationMessages.Answer(id, version, owns,
                mine != null, gone == null ? null : gone.to(), gone == null ? -1 : gone.endedAt(), record)));
    }

    void onAnswer(Member from, ReplicationMessages.Answer a) {
        Round r = rounds.get(a.id());
        if (r != null) {
            r.answered(from, a);
        }
    }

    /** A member left the view: no round waits for it any longer (one it owed an answer asks the others again). */
    void left(MemberId member) {
        for (Round r : rounds.values()) {
            r.left(member);
        }
    }

    /** Whether this member is in a take-over round for {@code id}. */
    boolean inRound(String id) {
        return rounds.containsKey(id);
    }

    /** One take-over of one session: the members still to answer and the newest record seen. */
    private final class Round {
        final String id;
        final CompletableFuture<Optional<PrimarySession>> result = new CompletableFuture<>();
        /** The answers still owed, by member: one per query sent (answers come in the order of the queries). */
        private final Map<MemberId, Integer> pending = new HashMap<>();
        private final List<Member> asked;
        private SessionRecord newest;
        /** The members that answered with a copy: after the take-over, the copies placement does not name go. */
        private final List<Member> holding = new ArrayList<>();
        /** The member that answered that it owns the session, or that another handed it to, if any. */
        private Member owner;
        /**
         * The members answerers handed the session to lately: the last of such a chain (one not among {@link
         * #notOwners}), when alive, may have answered before its adoption; the others answered after theirs.
         */
        private final Set<MemberId> handedTo = new HashSet<>();
        /**
         * Answerers that do not own the session for sure: they owned it lately and let go of it (handed it on, or
         * ended it), or their node serves no engine of this namespace.
         */
        private final Set<MemberId> notOwners = new HashSet<>();
        /** The newest version an answerer ended the session at lately (-1: none). */
        private long endedAt = -1;
        private String failure;
        private boolean done;
        private Scheduler.Cancellable timer;
        private Scheduler.Cancellable probe;

        Round(String id, List<Member> asked) {
            this.id = id;
            this.asked = asked;
            for (Member m : asked) {
                pending.put(m.id(), 1);
            }
            this.newest = table.replica(id).orElse(null);
        }

        void begin() {
            timer = scheduler.schedule(() -> fail("no answer within " + timeout + " from "
                    + pendingNames() + " (the newest copy may be there)"), timeout.toNanos());
            // A member that crashed with the owner (all but one node killed at once) would otherwise keep the round
            // waiting until failure detection removes it: have the silent ones verified early, as verifyOwner does.
            probe = scheduler.schedule(this::verifySilent, timeout.toNanos() / PROBE_FRACTION);
            query(asked);
            // A member that left between start()'s reading of the view and this round's registration was announced
            // to left() before the round existed: the view, updated before that announcement, says so now.
            View now = out.view();
            for (Member m : asked) {
                if (!now.contains(m.id())) {
                    left(m.id());
                }
            }
            check();
        }

        private void query(List<Member> members) {
            long have;
            synchronized (this) {
                have = newest == null ? -1 : newest.version();
            }
            for (Member m : members) {
                // PROCESSED: a member whose node has no listener for the topic says so, and counts as holding none.
                out.send(List.of(m), config.replicationTopic(),
                        ReplicationMessages.idAndVersion(ReplicationMessages.TAKEOVER_QUERY, id, have),
                        Delivery.PROCESSED).whenComplete((v, e) -> {
                            if (e != null && Outbox.cause(e) instanceof RemoteProcessingException) {
                                synchronized (this) {
                                    notOwners.add(m.id());
                                }
                                gone(m.id());
                            }
                        });
            }
        }

        void answered(Member from, ReplicationMessages.Answer a) {
            if (a.owns()) {
                synchronized (this) {
                    owner = from;
                }
                fail("member " + from.describe() + " owns session " + SessionRecord.redact(id));
                return;
            }
            if (a.inRound() && SessionTable.older(out.view(), from.id(), out.self().id())) {
                fail("older member " + from.describe() + " takes session " + SessionRecord.redact(id)
                        + " over at the same time");
                return;
            }
            synchronized (this) {
                if (a.record() != null && (newest == null || a.version() > newest.version())) {
                    newest = sessionCodec.decodeRecord(a.record());
                }
                if (a.version() >= 0 && !holding.contains(from)) {
                    holding.add(from);
                }
                if (a.handedTo() != null) {
                    handedTo.add(a.handedTo());
                    notOwners.add(from.id());
                }
                if (a.endedAt() >= 0) {
                    endedAt = Math.max(endedAt, a.endedAt());
                    notOwners.add(from.id());
                }
            }
            gone(from.id());
        }

        /** {@code member} answered one query (or cannot: its node has no listener for the topic). */
        void gone(MemberId member) {
            synchronized (this) {
                Integer owed = pending.get(member);
                if (owed == null) {
                    return;
                }
                if (owed > 1) {
                    pending.put(member, owed - 1);
                    return;
                }
                pending.remove(member);
            }
            check();
        }

        /**
         * {@code member} left the view. If it owed an answer, it may have handed the session on just before it left
         * (a drain waits for its new owners to confirm, then leaves) to a member that answered before its adoption:
         * the others are asked again.
         */
        void left(MemberId member) {
            List<Member> again = new ArrayList<>();
            synchronized (this) {
                if (done || pending.remove(member) == null) {
                    return;
                }
                View view = out.view();
                for (Member m : asked) {
                    if (!m.id().equals(member) && view.contains(m.id())) {
                        pending.merge(m.id(), 1, Integer::sum);
                        again.add(m);
                    }
                }
            }
            query(again);
            check();
        }

        private void verifySilent() {
            List<Member> silent = new ArrayList<>();
            synchronized (this) {
                if (done) {
                    return;
                }
                for (Member m : asked) {
                    if (pending.containsKey(m.id())) {
                        silent.add(m);
                    }
                }
            }
            for (Member m : silent) {
                out.node().suspect(m, "it did not answer a take-over query for session " + SessionRecord.redact(id)
                        + " from " + out.self().describe());
            }
        }

        private synchronized String pendingNames() {
            List<String> names = new ArrayList<>();
            for (Member m : asked) {
                if (pending.containsKey(m.id())) {
                    names.add(m.describe());
                }
            }
            return String.join(", ", names);
        }

        void fail(String why) {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                failure = why;
            }
            finish(null);
        }

        private void check() {
            SessionRecord r;
            Member named;
            long ended;
            synchronized (this) {
                if (done || !pending.isEmpty()) {
                    return;
                }
                named = lastHandedTo();
                if (named != null) {
                    owner = named;
                } else {
                    done = true;
                }
                r = newest;
                ended = endedAt;
            }
            if (named != null) {
                fail("it was handed to member " + named.describe() + " lately, which owns it now");
                return;
            }
            PrimarySession ps = null;
            try {
                // Ended lately by the member that owned it last: a copy up to that version is of the ended session.
                ps = table.adopt(id, r, ended, out.view(), replicator::resume, replicator::announce);
                if (ps != null) {
                    List<Member> held;
                    synchronized (this) {
                        held = List.copyOf(holding);
                    }
                    rebalancer.moved(ps, held);
                }
            } catch (TakeOverException e) {
                synchronized (this) {
                    failure = e.getMessage();
                }
            }
            finish(ps);
        }

        /** The live member, not this one, that a chain of recent hand-offs ends at, if any. */
        private Member lastHandedTo() {
            View view = out.view();
            for (MemberId to : handedTo) {
                if (!notOwners.contains(to) && !to.equals(out.self().id())) {
                    Optional<Member> m = view.find(to);
                    if (m.isPresent()) {
                        return m.get();
                    }
                }
            }
            return null;
        }

        private void finish(PrimarySession ps) {
            rounds.remove(id, this);
            if (timer != null) {
                timer.cancel();
            }
            if (probe != null) {
                probe.cancel();
            }
            String why;
            Member live;
            synchronized (this) {
                why = failure;
                live = owner;
            }
            if (why != null) {
                // A live owner is no failure of the cluster: the caller asks it (a hand-off), no WARN each time.
                LOG.log(live == null ? Level.WARNING : Level.DEBUG, "did not take session "
                        + SessionRecord.redact(id) + " over: " + why);
                result.completeExceptionally(new TakeOverException("session " + SessionRecord.redact(id)
                        + " not taken over: " + why, live == null ? null : live.id()));
            } else {
                result.complete(Optional.ofNullable(ps));
            }
        }
    }
}
