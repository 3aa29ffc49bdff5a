package io.flotilla.membership;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.View;
import io.flotilla.spi.Clock;
import io.flotilla.spi.MembershipContext;
import io.flotilla.spi.ProbeRefusedException;
import io.flotilla.spi.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

/**
 * The member table of {@link StaticMembership}: every {@code frequency} each configured address is probed over the
 * transport. An answer adds the member it names (the id is learned from the probe, or checked against the
 * configured one); probes that keep failing for {@code dropTime}, and at least {@code probeAttempts} of them in a
 * row, remove it; after {@link #suspect} the attempts follow each other at once and {@code dropTime} is not waited
 * for, and one refused connection ({@link ProbeRefusedException}) removes it. An address that answers with a new
 * incarnation replaces the old one at once. As in {@link HeartbeatEngine}, a pause of this process
 * ({@link LocalPause}) is not counted as the members' silence, and a probe it overlapped is repeated (at most
 * {@code probeAttempts} times in a row) instead of counting as failed.
 *
 * <p>A listed address that is not a member yet is probed at once when it probes this node ({@link #probedBy}: it has
 * just started), not at the next round, and its probe may take up to {@code dropTime} (a member's, only
 * {@code connectTimeout}).
 *
 * <p>The addresses may change while it runs ({@link #addresses}, for {@link Discovery}): a new address is probed at
 * once and is only a candidate until it answers (the probe runs the transport's handshake, so with a cluster secret
 * it must prove the secret); the member of an address no longer listed is suspected and verified at once, stays while
 * it answers, and its address is forgotten once it fails or leaves. A listed address nobody answers at is never a
 * member.
 *
 * <p>Threading: {@link #start}, {@link #suspect}, {@link #left}, {@link #close} and {@link #view} are safe from any
 * thread; the rest runs on the {@code loop} executor (the {@link CommandLoop}, or the test's thread).
 */
final class StaticEngine {
    private static final System.Logger LOG = System.getLogger(StaticEngine.class.getName());

    private static final class Target {
        final StaticAddress address;
        Member member;
        MemberId leftId;
        long lastAliveNanos;
        long probeId;
        long probeStartedNanos;
        long probeGuardNanos;
        int failedProbes;
        int inconclusiveProbes;
        boolean suspected;
        boolean self;
        /** No longer in the list of {@link #addresses}: forgotten once it holds no member. */
        boolean unlisted;

        Target(StaticAddress address) {
            this.address = address;
        }
    }

    private final MembershipContext context;
    private final StaticMembershipConfig config;
    private final Executor loop;
    private final MembershipMeters meters;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Member local;
    private final long frequencyNanos;
    private final long dropTimeNanos;
    private final long connectTimeoutNanos;
    private final long probeGuardNanos;
    private final int probeAttempts;
    private final LocalPause pause;
    private final ViewKeeper views;
    private final List<Target> targets = new ArrayList<>();
    private long probeCounter;
    private boolean closed;
    private Scheduler.Cancellable roundTimer;

    StaticEngine(MembershipContext context, StaticMembershipConfig config, Executor loop, MembershipMeters meters) {
        this.context = context;
        this.config = config;
        this.loop = loop;
        this.meters = meters;
        this.clock = context.clock();
        this.scheduler = context.scheduler();
        this.local = context.localMember();
        this.frequencyNanos = config.frequency().toNanos();
        this.dropTimeNanos = config.dropTime().toNanos();
        this.connectTimeoutNanos = config.connectTimeout().toNanos();
        this.probeGuardNanos = connectTimeoutNanos + frequencyNanos;
        this.probeAttempts = config.probeAttempts();
        this.pause = new LocalPause(frequencyNanos, clock, meters);
        for (StaticAddress a : config.addresses()) {
            if (!isLocal(a)) {
                targets.add(new Target(a));
            }
        }
        this.views = new ViewKeeper(context, meters);
    }

    View view() {
        return views.view();
    }

    /** Probes every address at once, then every {@code frequency}. Does not wait for the answers. */
    void start() {
        post(this::round);
    }

    void suspect(MemberId id, String reason) {
        post(() -> onSuspect(id, reason));
    }

    /**
     * Replaces the addresses to probe with {@code listed} (in their order; duplicates count once). A new one is
     * probed at once; the member of one no longer listed is suspected ({@code reason}) and verified at once.
     */
    void addresses(List<StaticAddress> listed, String reason) {
        List<StaticAddress> copy = List.copyOf(listed);
        post(() -> onAddresses(copy, reason));
    }

    void left(MemberId id) {
        post(() -> onLeft(id));
    }

    /** {@code prober} probed this node: if its address is listed and not a member yet, it is probed now. */
    void probedBy(Member prober) {
        post(() -> onProbedBy(prober));
    }

    void close() {
        post(() -> {
            closed = true;
            if (roundTimer != null) {
                roundTimer.cancel();
            }
        });
    }

    private void post(Runnable body) {
        loop.execute(() -> {
            try {
                long paused = pause.observe(clock.nanoTime());
                if (paused > 0) {
                    onLocalPause(paused);
                }
                body.run();
            } finally {
                views.flush();
            }
        });
    }

    // ---- Everything below runs on the loop. ----

    /** The local member's own entry: one list for the whole cluster. */
    private boolean isLocal(StaticAddress a) {
        return a.host().equals(local.host()) && a.port() == local.port();
    }

    private static String key(StaticAddress a) {
        return a.host() + ":" + a.port();
    }

    private void onAddresses(List<StaticAddress> listed, String reason) {
        if (closed) {
            return;
        }
        Map<String, StaticAddress> fresh = new LinkedHashMap<>();
        for (StaticAddress a : listed) {
            if (!isLocal(a)) {
                fresh.putIfAbsent(key(a), a);
            }
        }
        for (Target t : List.copyOf(targets)) {
            if (fresh.remove(key(t.address)) != null) {
                t.unlisted = false;
            } else if (!t.unlisted) {
                t.unlisted = true;
                if (t.member == null) {
                    forget(t);
                } else if (!t.suspected) {
                    t.suspected = true;
                    views.suspect(t.member, reason, "unlisted");
                    if (t.probeId == 0) {
                        startProbe(t);
                    }
                }
            }
        }
        for (StaticAddress a : fresh.values()) {
            Target t = new Target(a);
            targets.add(t);
            startProbe(t);
        }
    }

    /** Stops probing an unlisted address that holds no member; a probe in flight is ignored when it ends. */
    private void forget(Target t) {
        t.probeId = 0;
        targets.remove(t);
    }

    /** This process did not run for {@code pausedNanos}: unanswered probes in that time are not the members'. */
    private void onLocalPause(long pausedNanos) {
        long now = clock.nanoTime();
        for (Target t : targets) {
            t.lastAliveNanos = Math.min(now, t.lastAliveNanos + pausedNanos);
        }
    }

    private void round() {
        if (closed) {
            return;
        }
        for (Target t : targets) {
            if (t.probeId == 0 && !t.self) {
                startProbe(t);
            }
        }
        roundTimer = scheduler.schedule(() -> post(this::round), frequencyNanos);
    }

    private void startProbe(Target t) {
        long probeId = ++probeCounter;
        t.probeId = probeId;
        t.probeStartedNanos = clock.nanoTime();
        // As in HeartbeatEngine: a member's probe has connectTimeout (a short one is what makes a hung member's
        // removal quick); a candidate's has up to dropTime: it is not in the view, so waiting costs nothing, while a
        // JVM that just started on a busy host can take a second or more to answer its first connection, and a
        // timeout there would start over at the next round.
        long timeoutNanos = t.member == null ? Math.max(connectTimeoutNanos, dropTimeNanos) : connectTimeoutNanos;
        long guardNanos = timeoutNanos + probeGuardNanos - connectTimeoutNanos;
        t.probeGuardNanos = guardNanos;
        CompletionStage<Member> stage;
        try {
            stage = context.probe(t.address.address(), Duration.ofNanos(timeoutNanos));
        } catch (RuntimeException e) {
            stage = CompletableFuture.failedFuture(e);
        }
        stage.whenComplete((answered, error) -> post(() -> onProbeResult(t, probeId, answered, error)));
        scheduler.schedule(() -> post(() -> onProbeResult(t, probeId, null, new TimeoutException(
                "no probe answer within " + guardNanos / 1_000_000 + " ms"))), guardNanos);
    }

    private void onProbeResult(Target t, long probeId, Member answered, Throwable error) {
        if (closed || t.probeId != probeId) {
            return;
        }
        t.probeId = 0;
        long now = clock.nanoTime();
        if (error == null && answered != null && answered.id().equals(local.id())) {
            t.self = true; // the list names this node under another host name: stop probing it
            return;
        }
        String refusal = error != null ? String.valueOf(error) : answered == null ? "no answer"
                : t.address.id() != null && !t.address.id().equals(answered.id())
                        ? "answered as " + answered.describe() + ", not the configured id " + t.address.id()
                : !answered.domain().equals(local.domain()) ? "member of domain '" + answered.domain() + "'"
                : answered.id().equals(t.leftId) ? "said goodbye already" : null;
        if (refusal == null) {
            meters.probe("alive");
            alive(t, answered, now);
        } else if (error != null && t.member != null && t.inconclusiveProbes < probeAttempts
                && pause.spoiled(t.probeStartedNanos, now, t.probeGuardNanos)) {
            t.inconclusiveProbes++;
            meters.probe("inconclusive");
            LOG.log(System.Logger.Level.INFO, () -> "A probe of " + t.member.describe() + " failed while this node "
                    + "was paused; it proves nothing, probing again (" + refusal + ")");
            startProbe(t);
        } else {
            meters.probe(error instanceof TimeoutException ? "timeout" : error == null ? "mismatch" : "failed");
            failed(t, now, refusal, error == null || ProbeRefusedException.isRefusal(error));
        }
    }

    private void alive(Target t, Member answered, long now) {
        t.lastAliveNanos = now;
        t.failedProbes = 0;
        t.inconclusiveProbes = 0;
        if (t.member != null && !t.member.id().equals(answered.id())) {
            Member old = t.member;
            LOG.log(System.Logger.Level.INFO, () -> t.address + " answers as a new incarnation: "
                    + answered.describe() + " replaces " + old.describe());
            t.member = null;
            t.suspected = false;
            views.leave(old, false, "replaced");
        }
        if (t.member == null) {
            t.member = answered;
            views.join(answered);
        } else if (t.suspected) {
            t.suspected = false;
            views.unsuspect(t.member);
        }
    }

    /**
     * A probe failed; {@code conclusive} when the address answered as someone else or refused the connection (nothing
     * listens there: no lost packet or busy member does that).
     */
    private void failed(Target t, long now, String why, boolean conclusive) {
        if (t.member == null) {
            LOG.log(System.Logger.Level.DEBUG, () -> "Static member " + t.address + " is not reachable: " + why);
            return;
        }
        t.failedProbes++;
        boolean enough = conclusive || t.failedProbes >= probeAttempts;
        if (enough && (t.suspected || now - t.lastAliveNanos >= dropTimeNanos)) {
            Member gone = t.member;
            t.member = null;
            t.suspected = false;
            t.failedProbes = 0;
            t.inconclusiveProbes = 0;
            views.leave(gone, false, "failed");
            if (t.unlisted) {
                forget(t);
            }
        } else if (t.suspected && !enough) {
            startProbe(t); // the next attempt at once: one lost SYN must not remove a suspect
        }
    }

    private void onSuspect(MemberId id, String reason) {
        for (Target t : targets) {
            if (t.member != null && t.member.id().equals(id) && !t.suspected && !closed) {
                t.suspected = true;
                views.suspect(t.member, reason, "transport");
                if (t.probeId == 0) {
                    startProbe(t);
                }
            }
        }
    }

    /**
     * A listed address probed this node: it has just started, most likely, and is verified now instead of at the
     * next round (a probe already in flight or a member already known changes nothing). Its own probe proves
     * nothing here: this node admits it only once its receiver answers this node's probe.
     */
    private void onProbedBy(Member prober) {
        if (closed) {
            return;
        }
        for (Target t : targets) {
            if (t.member == null && t.probeId == 0 && !t.self && t.address.port() == prober.port()
                    && t.address.host().equals(prober.host())
                    && (t.address.id() == null || t.address.id().equals(prober.id()))) {
                startProbe(t);
            }
        }
    }

    private void onLeft(MemberId id) {
        for (Target t : List.copyOf(targets)) {
            if (t.member != null && t.member.id().equals(id) && !closed) {
                Member gone = t.member;
                t.member = null;
                t.suspected = false;
                t.leftId = id;
                views.leave(gone, true, "leave");
                if (t.unlisted) {
                    forget(t);
                }
            }
        }
    }
}
