package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MessageRefusedException;
import io.flotilla.View;
import io.flotilla.internal.DeliveryFuture;
import io.flotilla.internal.RateLimitedLog;
import io.flotilla.spi.Clock;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Replication proper, on the replication topic: the owner's side (a primary's changes as one delta to its holders,
 * repairs of deltas the node abandoned, answers to full-copy requests, ownership claims at take-over) and the
 * holder's side (deltas, full copies, GONE and OWNER messages into the {@link SessionTable}, full copies asked for
 * on a gap). It is the {@link PrimaryHost} of every primary.
 *
 * <p>Threading: safe from any thread; no lock of its own. A primary's delta is encoded and handed to the node under
 * that session's lock, so one session's deltas leave in version order; ownership changes take the table's lock.
 * Messages arrive on the node's delivery threads, the periodic checks on the scheduler's thread, {@link
 * #replicate} and take-overs on request threads. The set of pending repairs is concurrent.
 */
final class Replicator implements PrimaryHost {
    private static final System.Logger LOG = System.getLogger(Replicator.class.getName());

    private final Outbox out;
    private final ReplicationConfig config;
    private final Clock clock;
    private final AttributeCodec codec;
    private final SessionCodec sessionCodec;
    private final ReplicationMeters meters;
    private final RateLimitedLog rateLog;
    private final Departures departures;
    private final Delivery wireDelivery;
    private final Set<Repair> repairs = ConcurrentHashMap.newKeySet();
    private SessionTable table;
    private Readiness readiness;

    /** A member that missed a delta (the node abandoned it); the owner pushes the full session when it can. */
    private record Repair(MemberId member, String id, PrimarySession session) {
    }

    Replicator(Outbox out, ReplicationConfig config, Clock clock, AttributeCodec codec, SessionCodec sessionCodec,
            ReplicationMeters meters, Departures departures) {
        this.out = out;
        this.config = config;
        this.clock = clock;
        this.codec = codec;
        this.sessionCodec = sessionCodec;
        this.meters = meters;
        this.departures = departures;
        this.rateLog = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
        // ASYNC callers do not wait, but the engine still learns which deltas the node abandoned (for repairs).
        // RECEIVED goes as PROCESSED: a holder that refuses a delta for ownership reasons fails the write rather
        // than acknowledging one that is then thrown away (the wait includes the holder's apply).
        this.wireDelivery = config.delivery() == Delivery.ASYNC ? Delivery.RECEIVED : Delivery.PROCESSED;
    }

    /** The table is built on the store, whose gap requests come here: set once, before any message. */
    void table(SessionTable t) {
        this.table = t;
    }

    /** Which members listen: set once, before any message. */
    void readiness(Readiness r) {
        this.readiness = r;
    }

    // ------------------------------------------------------------------------------------------ PrimaryHost

    @Override
    public AttributeCodec codec() {
        return codec;
    }

    @Override
    public ReplicationConfig config() {
        return config;
    }

    @Override
    public Clock clock() {
        return clock;
    }

    @Override
    public ReplicationMeters meters() {
        return meters;
    }

    @Override
    public void warn(String key, String message) {
        rateLog.log(Level.WARNING, key, message, null);
    }

    @Override
    public void skipped(String name, AttributeCodecException e) {
        meters.attributesSkipped.increment();
        rateLog.log(Level.WARNING, "skip:" + e.className(), "attribute '" + name + "' not replicated: "
                + e.getMessage(), null);
    }

    @Override
    public void rename(PrimarySession ps, String newId) {
        String old = table.rename(ps, newId);
        if (config.placement() != Placement.ALL) {
            // An id comes back when a session returns to a node and takes its route suffix again: a member that kept
            // a copy or an owner under it from back then (placement no longer named it) would refuse this member.
            // Every member forgets what it has under the new id (the holders get the session with the next delta)
            // and learns the rename, so a request with the former id finds the session from any member.
            out.sendQuietly(readiness.targets().othersThan(out.self().id()), ReplicationMessages.renamed(old, newId));
        }
    }

    @Override
    public CompletionStage<Void> replicate(PrimarySession ps) {
        return ps.failIfUnencodable(drainAndSend(ps));
    }

    private CompletionStage<Void> drainAndSend(PrimarySession ps) {
        CompletionStage<Void> stage;
        List<Member> displaced = List.of();
        List<Member> newcomers = List.of();
        String renamed;
        long version;
        synchronized (ps) {
            if (ps.isHandedOver()) {
                // moved to another member before this replication: whatever was not handed with it is not replicated
                return CompletableFuture.failedFuture(new TakeOverException("session "
                        + SessionRecord.redact(ps.recorder().id()) + " moved to another member before this write was"
                        + " replicated"));
            }
            if (ps.prepareDrain(config.mutationDetection(), config.accessInterval().toMillis())) {
                meters.accessOnlyDeltas.increment();
            }
            Optional<SessionDelta> drained = ps.recorder().drain();
            if (drained.isEmpty()) {
                return CompletableFuture.completedFuture(null);
            }
            SessionDelta delta = drained.get();
            if (delta.expires()) {
                table.ended(ps, delta.sessionId(), delta.version());
            }
            // Namespace header, kind and delta in one array: no copy between encoding and the node.
            byte[] header = out.deltaHeader();
            byte[] msg = sessionCodec.encodeDelta(delta, header);
            meters.deltasSent.increment();
            meters.deltaBytes.record(msg.length - header.length);
            View view = out.view();
            View targets = readiness.targets();
            List<Member> holders = config.placement().holders(delta.sessionId(), out.self(), targets);
            renamed = renamedTo(delta);
            if (renamed != null && config.placement() != Placement.ALL) {
                // A rename to an id placement gives other holders (a login's new id): the delta goes to the former
                // id's holders, the whole session to the new id's others (they have nothing to apply the delta to),
                // and the former holders placement no longer names drop their copy once every holder has it.
                List<Member> next = config.placement().holders(renamed, out.self(), targets);
                displaced = new ArrayList<>(holders);
                displaced.removeAll(next);
                newcomers = new ArrayList<>(next);
                newcomers.removeAll(holders);
            }
            skipped(delta.sessionId(), ps, view);
            boolean none = holders.isEmpty() && newcomers.isEmpty();
            if (none || config.delivery() == Delivery.ASYNC) {
                ps.acknowledged(delta.version()); // no holder to wait for, or nothing is waited for
            }
            if (none) {
                return CompletableFuture.completedFuture(null);
            }
            version = delta.version();
            // An ASYNC caller does not wait: its delta is batched with others by the transport's I/O thread rather
            // than written by the request thread (a write per request, and no batching under load).
            stage = holders.isEmpty() ? null : out.sendWrapped(holders, config.replicationTopic(),
                    ByteBuffer.wrap(msg), wireDelivery, config.delivery() == Delivery.ASYNC);
            if (!newcomers.isEmpty()) {
                // Under the session's lock, as its deltas: the copy leaves before the next one. Processed (also in
                // ASYNC mode) when former holders drop theirs on success: a newcomer that refuses it must not count.
                CompletionStage<Void> full = sendFull(newcomers, ps.fullCopy(),
                        displaced.isEmpty() ? wireDelivery : Delivery.PROCESSED);
                stage = stage == null ? full : Outbox.both(stage, full);
            }
            String id = delta.sessionId();
            Outbox.whenCompleteInline(stage, (v, e) -> {
                if (e != null) {
                    for (MemberId m : Outbox.abandoned(e)) {
                        repairs.add(new Repair(m, id, ps));
                    }
                    // Its engine closed (UNREADY on its way) or is not there: the full copy once it listens again.
                    for (MemberId m : Outbox.notListening(e)) {
                        repairs.add(new Repair(m, id, ps));
                    }
                }
            });
        }
        List<Member> former = displaced;
        String newId = renamed;
        if (config.delivery() == Delivery.ASYNC) {
            if (!former.isEmpty()) {
                stage.whenComplete((v, e) -> { // on the delivery executor: a send may wait for queue room
                    if (e == null && table.primary(ps.id()) == ps) {
                        dropCopies(former, newId); // every holder of the new id holds the session
                    }
                });
            }
            return CompletableFuture.completedFuture(null);
        }
        // Recorded before the caller hears of it: a digest sent after the acknowledgement counts this write.
        CompletionStage<Void> held = departures.discount(fillMissing(stage, ps));
        // Completed on the thread that read the last acknowledgement, not through the delivery executor: the
        // request waiting for it wakes without a second hand-off (recording the version takes no lock).
        CompletableFuture<Void> done = DeliveryFuture.derive(held);
        long acknowledgedVersion = version;
        BiConsumer<Void, Throwable> finish = (v, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
                return;
            }
            if (!former.isEmpty() && table.primary(ps.id()) == ps) {
                // Before the caller hears of it, and under the id this delta gave the session: a next request may
                // rename it again at once (a login right after the login page's rename), and its delta leaves after
                // this drop; dropped later under the id of the moment, it took that request's copy with it.
                dropCopies(former, newId);
            }
            ps.acknowledged(acknowledgedVersion);
            done.complete(null);
        };
        if (former.isEmpty()) {
            Outbox.whenCompleteInline(held, finish);
        } else {
            held.whenComplete(finish); // on the delivery executor: a send may wait for queue room, an I/O thread not
        }
        return done;
    }

    /** The id {@code delta} renames its session to (its last rename), or null when it renames nothing. */
    private static String renamedTo(SessionDelta delta) {
        String to = null;
        for (SessionOp op : delta.ops()) {
            if (op instanceof SessionOp.ChangeId c) {
                to = c.newId();
            }
        }
        return to;
    }

    /**
     * {@code sent}, a {@code PROCESSED} delta of {@code ps}, except that the holders that refused it for lack of its
     * base ({@link MissingCopyException}: new to the session, their full copy not arrived) get the full session now
     * and count once they processed it. Without this a holder would acknowledge a write it only buffered, and lose it
     * with the owner. Success completes on the acknowledging thread; a failure is examined on the delivery executor
     * (the push encodes the session).
     */
    private CompletionStage<Void> fillMissing(CompletionStage<Void> sent, PrimarySession ps) {
        CompletableFuture<Void> result = DeliveryFuture.derive(sent);
        Outbox.whenCompleteInline(sent, (v, e) -> {
            if (e == null) {
                result.complete(null);
                return;
            }
            sent.whenComplete((v2, e2) -> {
                List<Member> missing = new ArrayList<>();
                View view = out.view();
                for (MemberId m : Outbox.missingCopy(e2)) {
                    view.find(m).ifPresent(missing::add);
                }
                boolean others = Outbox.failures(e2).size() > missing.size();
                if (missing.isEmpty()) {
                    result.completeExceptionally(Outbox.cause(e2));
                    return;
                }
                push(missing, ps, Delivery.PROCESSED).whenComplete((v3, e3) -> { // push counts fullSent
                    if (e3 != null || others) {
                        result.completeExceptionally(Outbox.cause(others ? e2 : e3));
                    } else {
                        result.complete(null);
                    }
                });
            });
        });
        return result;
    }

    /**
     * Members of {@code view} placement names but whose engine does not listen yet: each gets the full session
     * as a repair once it is ready, so a delta it was skipped for is not missing there.
     */
    private void skipped(String id, PrimarySession ps, View view) {
        if (view.size() == readiness.targets().size()) {
            return;
        }
        for (Member m : config.placement().holders(id, out.self(), view)) {
            if (!readiness.isReady(m.id())) {
                repairs.add(new Repair(m.id(), id, ps));
            }
        }
    }

    /**
     * Pushes the full copy of {@code ps} (its last replicated state) to {@code to}, new holders after a view change or
     * a move; completes once each holds it, fails when one did not (or the session is no longer owned here). Sent
     * {@code PROCESSED}: a member that refuses it (it owns the session too, or knows another live owner) fails the
     * stage instead of counting as a holder, so a caller that drops other copies on success never drops one whose
     * replacement was refused.
     */
    CompletionStage<Void> push(List<Member> to, PrimarySession ps) {
        return push(to, ps, Delivery.PROCESSED);
    }

    private CompletionStage<Void> push(List<Member> to, PrimarySession ps, Delivery delivery) {
        SessionRecord snap;
        synchronized (ps) {
            snap = ps.isHandedOver() ? null : ps.fullCopy();
        }
        if (snap == null || table.primary(ps.id()) != ps) {
            return CompletableFuture.failedFuture(new IllegalStateException("no longer owned here"));
        }
        return sendFull(to, snap, delivery);
    }

    private CompletionStage<Void> sendFull(List<Member> to, SessionRecord snap, Delivery delivery) {
        meters.fullSent.increment();
        return out.send(to, config.replicationTopic(),
                ReplicationMessages.wrap(ReplicationMessages.FULL, sessionCodec.encodeRecord(snap)), delivery);
    }

    /**
     * A push of {@code id}, owned here, to {@code to} failed (a member unreachable, a timeout, a refusal): counted and
     * logged, as the copies stay short of where placement wants them until the next view change or write of it.
     */
    void pushFailed(List<Member> to, String id, Throwable failure) {
        meters.pushesFailed.increment();
        Throwable cause = Outbox.cause(failure);
        rateLog.log(Level.WARNING, "push-failed", "full copy of session " + SessionRecord.redact(id) + " not placed on "
                + to.stream().map(Member::describe).toList() + ": " + cause + "; it stays on the members"
                + " that held it, and the next view change or write of the session places it again", null);
    }

    /** Tells {@code to}, holders no longer, to drop their copy of {@code id} (owned here). */
    void dropCopies(List<Member> to, String id) {
        out.sendQuietly(to, ReplicationMessages.idAndVersion(ReplicationMessages.GONE, id, 0));
    }

    /** Whether placement names {@code m} a holder of {@code id}, owned here, in {@code view}. */
    boolean placed(String id, Member m, View view) {
        return config.placement().holders(id, out.self(), view).contains(m);
    }

    /** {@code m} holds an older copy of {@code ps}: the full session is pushed to it (as a repair). */
    void repair(Member m, PrimarySession ps) {
        repairs.add(new Repair(m.id(), ps.id(), ps));
        runRepairs();
    }

    /** {@code m}'s engine listens now: the repairs due to it go at once. */
    void ready(Member m) {
        runRepairs();
    }

    // ------------------------------------------------------------------------------------------ owner side

    PrimarySession create(String id, int maxInactiveIntervalSeconds) {
        SessionMetadata md = SessionMetadata.created(clock.currentTimeMillis(), maxInactiveIntervalSeconds);
        PrimarySession ps = new PrimarySession(this, SessionRecorder.create(id, md), md, Map.of());
        table.create(id, ps);
        return ps;
    }

    /** A primary built on a record taken over. */
    PrimarySession resume(SessionRecord r) {
        return new PrimarySession(this, SessionRecorder.resume(r), r.metadata(), r.attributesUnsafe());
    }

    /** The targets a drain may hand sessions to: not the members draining themselves. */
    View successors() {
        return readiness.successors();
    }

    /** The members whose engine listens (and this one): replication targets. */
    View targets() {
        return readiness.targets();
    }

    /** This member handed a session it owned to a member that asked for it. */
    void handedOff() {
        meters.handoffs.increment();
    }

    /** Tells the holders of a session just taken over that this member owns it, at its version. */
    void announce(PrimarySession ps) {
        meters.takeovers.increment();
        claim(ps);
    }

    /** Tells the holders that this member owns {@code ps} now, at its version (after a take-over or a hand-off). */
    void claim(PrimarySession ps) {
        String id = ps.recorder().id();
        out.sendQuietly(config.placement().holders(id, out.self(), readiness.targets()),
                ReplicationMessages.idAndVersion(ReplicationMessages.OWNER, id, ps.recorder().version()));
    }

    /** See {@link ReplicationEngine#verifyOwner}. */
    boolean verifyOwner(String id, Duration timeout) {
        if (table.primary(id) != null) {
            return true;
        }
        MemberId owner = table.owner(id);
        if (table.replica(id).isEmpty()) {
            return false;
        }
        Optional<Member> alive = owner == null ? Optional.empty() : out.view().find(owner);
        if (alive.isEmpty()) {
            return true;
        }
        return switch (departures.awaitGone(alive.get(), "a request for its session " + SessionRecord.redact(id)
                + " arrived at " + out.self().describe(), timeout)) {
            case GONE -> true;
            case ALIVE -> false;
            case UNDECIDED -> throw new TakeOverException("owner " + alive.get().describe() + " of session "
                    + SessionRecord.redact(id) + " neither answered nor left the view within " + timeout.toMillis()
                    + " ms (hung or slow; its verification goes on): the request fails rather than go on without"
                    + " its session; a retry succeeds once the owner is verified");
        };
    }

    /** Expires the primaries idle at {@code nowMillis} and replicates their end; the ids expired. */
    List<String> expirePrimaries(long nowMillis) {
        List<String> expired = new ArrayList<>();
        for (PrimarySession ps : table.primaries()) {
            String id = ps.id();
            if (ps.expireIfIdle(nowMillis)) {
                replicate(ps);
                meters.expiredPrimary.increment();
                expired.add(id);
            }
        }
        return expired;
    }

    /** Full copies asked for long ago are asked for again; repairs are pushed. */
    void tick() {
        long now = clock.nanoTime();
        for (String id : table.overdueFull(now, config.gapTimeout().toNanos())) {
            requestFull(id, table.replicaVersion(id));
        }
        runRepairs();
    }

    void left(MemberId member) {
        repairs.removeIf(r -> r.member().equals(member));
    }

    private void runRepairs() {
        if (repairs.isEmpty()) {
            return;
        }
        View view = out.view();
        for (Repair r : List.copyOf(repairs)) {
            Optional<Member> m = view.find(r.member());
            if (m.isPresent() && !readiness.isReady(r.member())) {
                continue; // its engine does not listen yet: kept until it does
            }
            repairs.remove(r);
            if (m.isEmpty() || r.session().isHandedOver()) {
                // Gone: it gets the sessions by state transfer if it comes back. Handed over (a hand-off, a lost
                // contest): the session lives on, and its new owner serves the holders; a GONE would delete a copy.
                continue;
            }
            meters.repairs.increment();
            ByteBuffer msg;
            SessionRecord snap;
            synchronized (r.session()) {
                snap = r.session().fullCopy();
            }
            boolean live = table.primary(r.session().id()) == r.session() && snap != null;
            if (live) {
                meters.fullSent.increment();
                msg = ReplicationMessages.wrap(ReplicationMessages.FULL, sessionCodec.encodeRecord(snap));
            } else {
                msg = ReplicationMessages.idAndVersion(ReplicationMessages.GONE, r.id(), 0);
            }
            if (live && !snap.id().equals(r.id())) {
                out.sendQuietly(List.of(m.get()),
                        ReplicationMessages.idAndVersion(ReplicationMessages.GONE, r.id(), 0));
            }
            out.send(List.of(m.get()), config.replicationTopic(), msg, Delivery.RECEIVED).whenComplete((v, e) -> {
                if (e != null && !Outbox.abandoned(e).isEmpty()) {
                    repairs.add(r);
                }
            });
        }
    }

    // ------------------------------------------------------------------------------------------ holder side

    /**
     * A delta from {@code from}. One refused for ownership reasons (the sender is not the owner here, or this
     * member owns the session and keeps it) throws, so the sender's {@code PROCESSED} replication fails instead of
     * acknowledging a write that is thrown away. {@code processed}: its sender waits for it to be processed, and
     * counts the write as held here once it is; a delta this member cannot apply yet (it lacks the version the delta
     * starts from) is then refused with {@link MissingCopyException}, and the sender sends the full session before the
     * write counts.
     */
    void onDelta(Member from, SessionDelta delta, boolean processed) throws MessageRefusedException {
        meters.deltasReceived.increment();
        String id = delta.sessionId();
        switch (table.applyDelta(out.view(), from, delta)) {
            case CONTESTED -> {
                // A delta does not say where its sender's ownership began: this member keeps the session for now
                // and sends the sender its own figures, with which the sender decides who keeps it.
                PrimarySession mine = table.primary(id);
                if (mine != null && !contest(from, mine, -1, -1)) {
                    meters.drop(ReplicationMeters.EngineDrop.NOT_OWNER);
                    throw new MessageRefusedException("delta of session " + SessionRecord.redact(id) + " refused: "
                            + out.self().describe() + " owns it too (the owner that keeps it is settled between "
                            + "the two)");
                }
            }
            case NOT_OWNER -> {
                meters.drop(ReplicationMeters.EngineDrop.NOT_OWNER);
                MemberId owner = table.owner(id);
                askOwnerFollowed(id);
                throw new MessageRefusedException("delta of session " + SessionRecord.redact(id) + " refused: "
                        + (owner == null ? "another member" : "member " + owner.shortString()) + " owns it");
            }
            case EARLY -> {
                if (processed) {
                    throw new MissingCopyException("delta of session " + SessionRecord.redact(id) + " up to version "
                            + delta.version() + " not applied on " + out.self().describe() + ": it lacks version "
                            + delta.baseVersion() + "; the owner sends the full session");
                }
            }
            case ACCEPTED -> { }
        }
    }

    void onFullRequest(Member from, ReplicationMessages.IdAndVersion req) {
        meters.fullRequestsReceived.increment();
        String id = req.id();
        SessionTable.Held held = table.held(id);
        if (held == null && table.primary(id) != null) {
            return; // created but never replicated: its first delta is still to come
        }
        if (held == null) {
            out.sendQuietly(List.of(from), ReplicationMessages.idAndVersion(ReplicationMessages.GONE, id, 0));
            return;
        }
        MemberId owner = table.owner(id);
        if (table.primary(id) == null && owner != null && !owner.equals(from.id()) && !owner.equals(out.self().id())
                && out.view().contains(owner)) {
            // Not the owner here, and a live member is: the asker took this member for the owner (it missed the
            // release of a hand-off, or the HANDED_OVER of a lost contest, with a connection that broke) and refuses
            // the real owner's writes. Told whom to follow, it fetches that owner's copy.
            out.sendQuietly(List.of(from), ReplicationMessages.release(
                    new ReplicationMessages.Release(id, -1, owner, null)));
            return;
        }
        meters.fullSent.increment();
        out.sendQuietly(List.of(from), ReplicationMessages.wrap(ReplicationMessages.FULL,
                sessionCodec.encodeRecord(held.record())));
    }

    /**
     * A full copy from {@code from}. One refused for ownership reasons (owned here, or another live member owns it) is
     * dropped; when its sender waits for it to be processed ({@code processed}: the write it carries counts once held
     * here), it throws instead, so that write fails rather than count a copy this member does not keep.
     */
    void onFull(Member from, SessionRecord record, boolean processed) throws MessageRefusedException {
        meters.fullReceived.increment();
        if (!table.applyFull(out.view(), from, record)) {
            meters.drop(ReplicationMeters.EngineDrop.NOT_OWNER);
            if (table.primary(record.id()) == null) {
                askOwnerFollowed(record.id());
            }
            if (processed) {
                MemberId owner = table.owner(record.id());
                throw new MessageRefusedException("full copy of session " + SessionRecord.redact(record.id())
                        + " refused by " + out.self().describe() + ": " + (table.primary(record.id()) != null
                        ? "it owns the session too" : "member " + (owner == null ? "?" : owner.shortString())
                        + " owns it"));
            }
        }
    }

    /** Its owner renamed a session (placement other than ALL). */
    void onRenamed(ReplicationMessages.Renamed r) {
        table.renamedElsewhere(r.from(), r.to());
    }

    void onGone(Member from, String id) {
        table.gone(from, id);
    }

    void onOwner(Member from, ReplicationMessages.IdAndVersion claim) {
        // Sent when the sender took the session over at that version: its ownership began there, nothing written yet.
        onClaim(from, claim.id(), claim.version(), claim.version(), claim.version(), false);
    }

    /**
     * {@code from} owns {@code id} at {@code version} since version {@code since}, its holders having acknowledged
     * {@code acknowledged}: an ownership announcement, or ({@code heal}) an entry of a digest sent at a heal.
     */
    void onClaim(Member from, String id, long version, long since, long acknowledged, boolean heal) {
        SessionTable.Verdict v = table.claim(out.view(), from, id, version, heal,
                mine -> contest(from, mine, since, acknowledged),
                () -> requestFull(id, 0));
        if (v == SessionTable.Verdict.ACCEPTED) {
            meters.ownershipChanges.increment();
        } else if (v == SessionTable.Verdict.NOT_OWNER && table.primary(id) == null) {
            askOwnerFollowed(id);
        }
    }

    /**
     * This member refused a delta, copy or claim of {@code id} because it follows another live owner. That owner may
     * have let go of it while the message saying so was lost: asked for the session, it names the owner it knows
     * ({@link #onFullRequest}), or sends its copy if it still owns it.
     */
    private void askOwnerFollowed(String id) {
        requestFull(id, table.replicaVersion(id));
    }

    /**
     * Another member acts as owner of a session this member owns: {@link SessionTable#contest} decides who keeps
     * it. The loser hands it over, counts the writes it discards and fetches the winner's copy; the winner announces
     * its ownership again, to the other and to its holders, so every holder follows it at once.
     *
     * @return true when this member handed the session over
     */
    private boolean contest(Member other, PrimarySession mine, long otherSince, long otherAcknowledged) {
        String id = mine.id();
        long acknowledged = table.acknowledged(id);
        long discarded = table.contest(out.view(), other, mine, otherSince, otherAcknowledged);
        if (discarded >= 0) {
            meters.writesDiscarded.increment(discarded);
            requestFull(id, 0);
            // Holders that follow this member (its own, and any that took a claim of it at this heal) follow the
            // winner: a younger winner's claims alone would not move them from an older owner they see alive. Sent
            // to the whole view: at a heal the members that took this member's digest may not be ready here yet.
            List<Member> to = new ArrayList<>(out.view().othersThan(out.self().id()));
            to.remove(other);
            out.sendQuietly(to, ReplicationMessages.handedOver(new ReplicationMessages.HandedOver(id,
                    discarded > 0 ? -1 : acknowledged, other.id())));
            return true;
        }
        long version;
        synchronized (mine) {
            SessionRecord snap = mine.recorder().snapshot();
            version = snap == null ? 0 : snap.version();
        }
        // As a digest entry: the other counts what it discards from it, and a holder that followed the other
        // fetches this copy again even at the same version (it may be the other's line of writes).
        List<Member> to = new ArrayList<>(config.placement().holders(mine.id(), out.self(), readiness.targets()));
        if (!to.contains(other)) {
            to.add(other);
        }
        out.sendQuietly(to, ReplicationMessages.digest(List.of(new ReplicationMessages.DigestEntry(mine.id(), version,
                table.ownedSince(mine.id()), table.acknowledged(mine.id())))));
        return false;
    }

    /** {@code from} handed {@code h.id()} over: a holder that followed it follows the new owner. */
    void onHandedOver(Member from, ReplicationMessages.HandedOver h) {
        table.handedOver(from, h.id(), h.owner(), h.keepUpTo(), () -> requestFull(h.id(), 0));
    }

    /** Asks the owner (or, when unknown or gone, the oldest other member) for the full session. */
    void requestFull(String id, long have) {
        if (out.closed()) {
            return;
        }
        Member target = table.fullSource(readiness.targets(), id);
        if (target == null) {
            return;
        }
        table.awaitingFull(id, clock.nanoTime());
        meters.fullRequestsSent.increment();
        out.sendQuietly(List.of(target), ReplicationMessages.idAndVersion(ReplicationMessages.FULL_REQUEST, id, have));
    }
}
