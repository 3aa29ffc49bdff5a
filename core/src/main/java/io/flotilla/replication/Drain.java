package io.flotilla.replication;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.View;
import io.flotilla.spi.Clock;
import io.flotilla.spi.Scheduler;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * One graceful drain ({@link ReplicationEngine#drain}): before this member leaves, the changes it sent are confirmed
 * and each session it owns is handed to the member that owns it next, so that member serves it at once, at its newest
 * version, with no take-over round on its next request.
 *
 * <p>Two things run together. A {@code FLUSH} barrier goes to every replication target with {@code PROCESSED}: a
 * member processes one sender's messages in order, so its result says that every change sent before it, asynchronous
 * ones included, was applied there. And rounds: each session owned here is pushed ({@link Handoff#push}) to its
 * {@link Placement#successor} among the targets: it is released here (changes not yet replicated included), the
 * other holders follow the successor, then the successor adopts the record at its version. A session a request uses
 * ({@link PrimarySession#beginAccess}) is tried again in the next round, after a pause growing from 5 ms to 100 ms;
 * so is one a request moved back here meanwhile. A session whose successor left the view before it confirmed (it
 * died mid-way) is taken back here by a take-over round (the newest copy in the view, writes the successor made
 * before it died included) and handed to another member in the next round; a successor that failed but stays in the
 * view (its engine stopped: it is leaving too) is not waited for. The drain ends when nothing owned here can go and
 * nothing waits for a confirmation or a round, nor a hand-off granted here to a member that asked (its grant still
 * queued here would leave with this node, and the asker take the session over instead), or at its timeout; what it
 * could not hand over (in use all along, no other member, or a successor that did not confirm) is counted
 * ({@code flotilla.replication.drain.unhanded}) and logged with redacted ids, and stays as safe as after a leave
 * without a drain: the holders have every acknowledged write and take it over at its next request.
 *
 * <p>Threading: one object per drain. Rounds run on the engine's scheduler, confirmations on the threads that
 * complete the sends and the rounds; the counts are guarded by this object's lock, which is never held while
 * sending.
 */
final class Drain {
    private static final System.Logger LOG = System.getLogger(Drain.class.getName());
    private static final long FIRST_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long MAX_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final int IDS_LOGGED = 5;

    private final Outbox out;
    private final ReplicationConfig config;
    private final SessionTable table;
    private final Replicator replicator;
    private final Handoff handoff;
    private final TakeOver takeOver;
    private final ReplicationMeters meters;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Duration timeout;
    private final long startNanos;
    private final CompletableFuture<DrainReport> result = new CompletableFuture<>();
    /** Pushed, and the successor did not confirm: id to the successor. */
    private final Map<String, Member> unconfirmed = new HashMap<>(); // guarded by this
    private int rehoming; // guarded by this
    /** Not taken back from a departed successor: reported. */
    private final List<String> lost = new ArrayList<>(); // guarded by this
    private int handed; // guarded by this
    private int confirming; // guarded by this
    private boolean flushSettled; // guarded by this
    private boolean flushed; // guarded by this
    private long pause = FIRST_PAUSE_NANOS; // rounds run one at a time on the scheduler
    private volatile Scheduler.Cancellable deadline;

    Drain(Outbox out, ReplicationConfig config, SessionTable table, Replicator replicator, Handoff handoff,
            TakeOver takeOver, ReplicationMeters meters, Clock clock, Scheduler scheduler, Duration timeout) {
        this.out = out;
        this.config = config;
        this.table = table;
        this.replicator = replicator;
        this.handoff = handoff;
        this.takeOver = takeOver;
        this.meters = meters;
        this.clock = clock;
        this.scheduler = scheduler;
        this.timeout = timeout;
        this.startNanos = clock.nanoTime();
    }

    /** Starts the barrier and the first round; the stage completes with the report at the end. */
    CompletableFuture<DrainReport> start() {
        deadline = scheduler.schedule(this::finish, timeout.toNanos());
        List<Member> others = replicator.targets().othersThan(out.self().id());
        if (others.isEmpty()) {
            flushSettled(null);
        } else {
            out.send(others, config.replicationTopic(), ReplicationMessages.kindOnly(ReplicationMessages.FLUSH),
                    Delivery.PROCESSED).whenComplete((v, e) -> flushSettled(e));
        }
        scheduler.schedule(this::round, 0);
        return result;
    }

    private synchronized void flushSettled(Throwable e) {
        flushSettled = true;
        flushed = e == null;
        if (e != null) {
            LOG.log(Level.WARNING, "drain of " + out.self().describe() + ": not every member confirmed the changes "
                    + "sent before it (" + Outbox.cause(e).getMessage() + ")");
        }
    }

    /** Pushes every session owned here that can go now; then ends, or runs again after a pause. */
    private void round() {
        if (result.isDone()) {
            return;
        }
        rehome();
        View targets = replicator.successors(); // not a member draining too: they would hand sessions back and forth
        boolean busy = false;
        boolean pushed = false;
        for (String id : table.primaryIds()) {
            Member to = config.placement().successor(id, out.self(), targets);
            if (to == null) {
                continue; // no other member holds it: reported at the end
            }
            boolean[] inUse = new boolean[1];
            CompletionStage<Void> granted;
            try {
                granted = handoff.push(id, to, inUse);
            } catch (RuntimeException e) { // one session's failure (its record does not encode) stops no other
                synchronized (this) {
                    confirming++;
                }
                confirmed(id, to, e);
                continue;
            }
            if (granted == null) {
                busy |= inUse[0];
                continue;
            }
            pushed = true;
            synchronized (this) {
                confirming++;
            }
            granted.whenComplete((v, e) -> confirmed(id, to, e));
        }
        synchronized (this) {
            // a successor that did not confirm but stays in the view (its engine stopped: it leaves too) is not
            // waited for; one that left is, for the round that takes its sessions back
            if (!busy && confirming == 0 && rehoming == 0 && flushSettled && handoff.grantsInFlight() == 0
                    && unconfirmed.values().stream().allMatch(to -> out.view().contains(to.id()))) {
                finish();
                return;
            }
        }
        pause = pushed ? FIRST_PAUSE_NANOS : Math.min(MAX_PAUSE_NANOS, pause * 2);
        scheduler.schedule(this::round, pause);
    }

    private synchronized void confirmed(String id, Member to, Throwable e) {
        confirming--;
        if (e == null) {
            handed++;
            return;
        }
        unconfirmed.put(id, to);
        LOG.log(Level.WARNING, "drain of " + out.self().describe() + ": " + to.describe() + " did not confirm that "
                + "it took session " + SessionRecord.redact(id) + " (" + Outbox.cause(e).getMessage() + "); if it "
                + "left the view, the session is taken back here and handed to another member");
    }

    /**
     * Each session whose successor did not confirm and has left the view since is taken over here (a round: the
     * newest copy in the view, writes the successor made before it died included), so the next round hands it to a
     * live member; a successor still in the view may yet adopt it (its grant is on its way), so it is left alone.
     */
    private void rehome() {
        List<String> gone = new ArrayList<>();
        synchronized (this) {
            unconfirmed.forEach((id, to) -> {
                if (!out.view().contains(to.id())) {
                    gone.add(id);
                }
            });
            gone.forEach(unconfirmed::remove);
            rehoming += gone.size();
        }
        for (String id : gone) {
            takeOver.start(id).whenComplete((ps, e) -> {
                synchronized (this) {
                    rehoming--;
                    if (e != null || ps.isEmpty()) {
                        lost.add(id);
                        LOG.log(Level.WARNING, "drain of " + out.self().describe() + ": session "
                                + SessionRecord.redact(id) + " could not be taken back from its departed successor ("
                                + (e == null ? "no copy in the view" : Outbox.cause(e).getMessage()) + ")");
                    }
                }
            });
        }
    }

    private synchronized void finish() {
        if (result.isDone()) {
            return;
        }
        Scheduler.Cancellable d = deadline;
        if (d != null) {
            d.cancel();
        }
        List<String> left = new ArrayList<>(table.primaryIds());
        left.addAll(unconfirmed.keySet());
        left.addAll(lost);
        int notHanded = left.size() + confirming + rehoming;
        meters.drainUnhanded.increment(notHanded);
        DrainReport report = new DrainReport(handed, notHanded, flushSettled && flushed,
                Duration.ofNanos(clock.nanoTime() - startNanos));
        if (notHanded == 0) {
            LOG.log(Level.DEBUG, () -> "drained " + out.self().describe() + ": " + report); // the host logs it
        } else {
            LOG.log(Level.WARNING, "drain of " + out.self().describe() + " ended with " + notHanded + " session(s) "
                    + "not handed over (in use past " + timeout.toMillis() + " ms, no other member, or not confirmed): "
                    + report + "; " + left.stream().limit(IDS_LOGGED).map(SessionRecord::redact)
                    .collect(Collectors.joining(", ")) + (left.size() > IDS_LOGGED ? ", ..." : "")
                    + (confirming + rehoming > 0 ? " and " + (confirming + rehoming) + " on their way" : "")
                    + "; their holders take them over at their next request");
        }
        result.complete(report);
    }
}
