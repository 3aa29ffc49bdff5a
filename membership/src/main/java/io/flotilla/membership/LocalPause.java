package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import io.flotilla.spi.Clock;
import java.util.concurrent.TimeUnit;

/**
 * Notices that this process itself did not run for a while (stopped with SIGSTOP, a long GC pause, a starved
 * machine), so that what happened meanwhile is not held against other members.
 *
 * <p>The membership loop runs a command at least every {@code tick} (the heartbeat or probe round timer). When the
 * monotonic clock moved much further than that between two commands, the loop, and with it the whole process, did
 * not run in between. Then the silence of other members in that time is ours, not theirs, and a TCP probe that was
 * in flight proves nothing: its timeout elapsed while nobody could read the answer (the transport's timers fire on
 * resume, often before its reads). The engines shift every member's last-heard time by the pause and repeat such
 * probes instead of removing anyone.
 *
 * <p>Threading: not thread-safe; owned by the membership loop.
 */
final class LocalPause {
    private static final System.Logger LOG = System.getLogger(LocalPause.class.getName());
    /** The least gap beyond one tick that counts as a pause: scheduling jitter on a busy host stays below it. */
    static final long MIN_SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final long tickNanos;
    private final long thresholdNanos;
    private final MembershipMeters meters;
    private final RateLimitedLog log;
    private long lastRunNanos;
    private long lastPauseEndNanos;
    private boolean paused;

    LocalPause(long tickNanos, Clock clock, MembershipMeters meters) {
        this.tickNanos = tickNanos;
        this.thresholdNanos = tickNanos + Math.max(tickNanos / 2, MIN_SLACK_NANOS);
        this.lastRunNanos = clock.nanoTime();
        this.meters = meters;
        this.log = new RateLimitedLog(LOG, clock, TimeUnit.SECONDS.toNanos(10));
    }

    /**
     * Called at the start of every loop command. Returns how long the process was paused before {@code nowNanos}
     * (at least; the gap less the one tick the loop may legitimately sleep), or 0 when it ran normally. A pause is
     * counted ({@code flotilla.membership.local.pauses}) and logged (WARN, rate-limited).
     */
    long observe(long nowNanos) {
        long gap = nowNanos - lastRunNanos;
        lastRunNanos = Math.max(lastRunNanos, nowNanos);
        if (gap <= thresholdNanos) {
            return 0;
        }
        paused = true;
        lastPauseEndNanos = nowNanos;
        long pausedNanos = gap - tickNanos;
        meters.localPause();
        log.log(System.Logger.Level.WARNING, () -> "This node did not run for about " + pausedNanos / 1_000_000
                + " ms (stopped, or a long GC pause): other members' silence and probe failures in that time are not "
                + "held against them; probes in flight are repeated");
        return pausedNanos;
    }

    /**
     * Whether the failure of a probe started at {@code startedNanos} proves nothing: a pause ended after it started,
     * or its answer came far later than {@code guardNanos} after its start (its timers fired late).
     */
    boolean spoiled(long startedNanos, long nowNanos, long guardNanos) {
        return paused && lastPauseEndNanos - startedNanos > 0
                || nowNanos - startedNanos > guardNanos + thresholdNanos;
    }
}
