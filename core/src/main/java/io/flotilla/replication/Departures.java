package io.flotilla.replication;

import io.flotilla.DeliveryException;
import io.flotilla.DeliveryTimeoutException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.MemberUnreachableException;
import io.flotilla.MembershipEvent;
import io.flotilla.internal.DeliveryFuture;
import io.flotilla.spi.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Members whose departure someone waits for: an owner whose session was asked for elsewhere (verified before a
 * take-over), a replication target that stopped answering (a synchronous replication does not fail for a member that
 * left the view). Each member has one verdict future, completed true when it left the view and false when the
 * membership verified it alive.
 *
 * <p>Threading: safe from any thread; no lock (one concurrent map of futures). Verdicts are completed on the
 * membership listener's thread; a replication's outcome on the thread that completes it (see {@link #discount}).
 */
final class Departures {
    private final ConcurrentHashMap<MemberId, CompletableFuture<Boolean>> waiting = new ConcurrentHashMap<>();
    private final Outbox out;
    private final Scheduler scheduler;
    private final Duration departureWait;
    private final ReplicationMeters meters;

    Departures(Outbox out, Scheduler scheduler, Duration departureWait, ReplicationMeters meters) {
        this.out = out;
        this.scheduler = scheduler;
        this.departureWait = departureWait;
        this.meters = meters;
    }

    void onMembership(MembershipEvent event) {
        CompletableFuture<Boolean> verdict = waiting.get(event.member().id());
        if (verdict != null && event instanceof MembershipEvent.Left) {
            verdict.complete(true);
        } else if (verdict != null && event instanceof MembershipEvent.Unsuspected) {
            verdict.complete(false);
        }
    }

    /** What {@link #awaitGone} learned. */
    enum Verdict {
        /** It left the view. */
        GONE,
        /** The membership verified it alive. */
        ALIVE,
        /** Neither within the wait: it may be hung (its probes still running) or slow. */
        UNDECIDED
    }

    /** Has {@code member} verified now and waits up to {@code timeout} for the verdict. */
    Verdict awaitGone(Member member, String reason, Duration timeout) {
        CompletableFuture<Boolean> gone = departure(member, reason);
        try {
            return gone.get(timeout.toNanos(), TimeUnit.NANOSECONDS) ? Verdict.GONE : Verdict.ALIVE;
        } catch (TimeoutException | ExecutionException e) {
            return Verdict.UNDECIDED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Verdict.UNDECIDED;
        }
    }

    /**
     * Has {@code member} verified now and returns its verdict: true once it left the view (at once if it is not in
     * it), false if it answered. The future is shared by everyone waiting for that member.
     */
    private CompletableFuture<Boolean> departure(Member member, String reason) {
        CompletableFuture<Boolean> gone = waiting.computeIfAbsent(member.id(), k -> new CompletableFuture<>());
        gone.whenComplete((v, e) -> waiting.remove(member.id(), gone));
        if (!out.view().contains(member.id())) {
            gone.complete(true);
        } else {
            out.node().suspect(member, reason);
        }
        return gone;
    }

    /**
     * The outcome of a RECEIVED or PROCESSED replication: a target that stopped answering (unreachable or timed out)
     * does not fail it if that target leaves the view within {@code departureWait}, since the session is then safe
     * on the members that remain; a target whose node had no listener for the topic (its engine closed, its
     * {@code UNREADY} still on the way) does not fail it either, since it holds none of the session, as a member
     * that never said {@code READY}; any other failure, or a target verified alive, fails it with the original
     * exception.
     */
    CompletionStage<Void> discount(CompletionStage<Void> stage) {
        // A future of the same kind as the send's: its dependents never run on the thread that completes it.
        CompletableFuture<Void> result = DeliveryFuture.derive(stage);
        // Success completes the result on the acknowledging thread, so a request waiting on it wakes without a
        // hand-off; a failure is examined on the delivery executor (it may ask the membership about the target).
        Outbox.whenCompleteInline(stage, (v, e) -> {
            if (e == null) {
                result.complete(null);
            } else {
                stage.whenComplete((v2, e2) -> discount(e2, result));
            }
        });
        return result;
    }

    private void discount(Throwable e, CompletableFuture<Void> result) {
        Throwable t = Outbox.cause(e);
        List<CompletableFuture<Boolean>> verdicts = new ArrayList<>();
        for (Throwable x : Outbox.failures(e)) {
            if (Outbox.isNotListening(x)) {
                continue; // its engine does not listen: it holds none of the session, so it is not a holder
            }
            if ((x instanceof MemberUnreachableException || x instanceof DeliveryTimeoutException)
                    && ((DeliveryException) x).member() != null) {
                verdicts.add(departure(((DeliveryException) x).member(),
                        "replication to it failed: " + x.getMessage()));
            } else {
                result.completeExceptionally(t);
                return;
            }
        }
        if (verdicts.isEmpty()) {
            result.complete(null);
            return;
        }
        // Timed on the engine's scheduler (its injected clock), not the JDK's.
        Scheduler.Cancellable deadline = scheduler.schedule(() -> result.completeExceptionally(t),
                departureWait.toNanos());
        CompletableFuture.allOf(verdicts.toArray(CompletableFuture[]::new)).whenComplete((ok, x) -> {
            deadline.cancel();
            if (x == null && verdicts.stream().allMatch(CompletableFuture::join)) {
                meters.departedTargets.increment(verdicts.size());
                result.complete(null);
            } else {
                result.completeExceptionally(t);
            }
        });
    }
}
