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
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Take-over rounds: before a member makes a replica its primary, it learns the newest copy held in its view, in one
 * round trip. It asks every other member of the view for its version of the session; each answers its version,
 * whether it owns the session, whether it is itself in a round for it, and its record when newer than the asker's.
 * The round ends when every asked member answered or left the view; then the newest record becomes the primary here
 * at its version ({@link SessionTable#adopt}) and is announced as before. A live owner among the answers, or an
 * older member in its own round for the session, aborts it; so does a member that neither answers nor leaves within
 * the timeout (the node's). A member still silent after a sixth of the timeout is verified at once ({@code
 * Node.suspect}), so one that crashed with the owner leaves the view in time. An aborted round fails with {@link TakeOverException}: the caller never gets an empty or
 * stale session silently. A member whose node has no listener for the topic, or whose engines all serve other
 * namespaces (they decline the query), answers nothing and counts as holding nothing.
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
        byte[] record = held != null && version > q.version() ? sessionCodec.encodeRecord(held.record()) : null;
        out.sendQuietly(List.of(from), ReplicationMessages.answer(
                new ReplicationMessages.Answer(id, version, owns, mine != null, record)));
    }

    void onAnswer(Member from, ReplicationMessages.Answer a) {
        Round r = rounds.get(a.id());
        if (r != null) {
            r.answered(from, a);
        }
    }

    /** A member left the view: no round waits for it any longer. */
    void left(MemberId member) {
        for (Round r : rounds.values()) {
            r.gone(member);
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
        private final Set<MemberId> pending = new HashSet<>();
        private final List<Member> asked;
        private SessionRecord newest;
        /** The members that answered with a copy: after the take-over, the copies placement does not name go. */
        private final List<Member> holding = new ArrayList<>();
        /** The member that answered that it owns the session, if any. */
        private Member owner;
        private String failure;
        private boolean done;
        private Scheduler.Cancellable timer;
        private Scheduler.Cancellable probe;

        Round(String id, List<Member> asked) {
            this.id = id;
            this.asked = asked;
            for (Member m : asked) {
                pending.add(m.id());
            }
            this.newest = table.replica(id).orElse(null);
        }

        void begin() {
            long have = newest == null ? -1 : newest.version();
            timer = scheduler.schedule(() -> fail("no answer within " + timeout + " from "
                    + pendingNames() + " (the newest copy may be there)"), timeout.toNanos());
            // A member that crashed with the owner (all but one node killed at once) would otherwise keep the round
            // waiting until failure detection removes it: have the silent ones verified early, as verifyOwner does.
            probe = scheduler.schedule(this::verifySilent, timeout.toNanos() / PROBE_FRACTION);
            for (Member m : asked) {
                // PROCESSED: a member whose node has no listener for the topic says so, and counts as holding none.
                out.send(List.of(m), config.replicationTopic(),
                        ReplicationMessages.idAndVersion(ReplicationMessages.TAKEOVER_QUERY, id, have),
                        Delivery.PROCESSED).whenComplete((v, e) -> {
                            if (e != null && Outbox.cause(e) instanceof RemoteProcessingException) {
                                gone(m.id());
                            }
                        });
            }
            // A member that left between start()'s reading of the view and this round's registration was announced
            // to left() before the round existed: the view, updated before that announcement, says so now.
            View now = out.view();
            for (Member m : asked) {
                if (!now.contains(m.id())) {
                    gone(m.id());
                }
            }
            check();
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
                if (a.version() >= 0) {
                    holding.add(from);
                }
            }
            gone(from.id());
        }

        void gone(MemberId member) {
            synchronized (this) {
                if (!pending.remove(member)) {
                    return;
                }
            }
            check();
        }

        private void verifySilent() {
            List<Member> silent = new ArrayList<>();
            synchronized (this) {
                if (done) {
                    return;
                }
                for (Member m : asked) {
                    if (pending.contains(m.id())) {
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
                if (pending.contains(m.id())) {
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
            synchronized (this) {
                if (done || !pending.isEmpty()) {
                    return;
                }
                done = true;
                r = newest;
            }
            PrimarySession ps = null;
            try {
                ps = table.adopt(id, r, out.view(), replicator::resume, replicator::announce);
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
