package io.flotilla.membership;

/**
 * Tracks the heartbeats of one member and says when it becomes a suspect if nothing more is heard.
 *
 * <p>Threading: not thread-safe; owned by the membership loop.
 */
interface FailureDetector {
    /** A heartbeat arrived at {@code nowNanos}; one stamped before the last heartbeat or restart changes nothing. */
    void heartbeat(long nowNanos);

    /**
     * This process did not run for {@code pausedNanos} before {@code nowNanos} ({@link LocalPause}): that silence is
     * not the member's, so it is not counted, and heartbeats read in the burst just after it are not taken as
     * intervals.
     */
    void localPause(long pausedNanos, long nowNanos);

    /**
     * A TCP verification answered at {@code nowNanos}: count silence from now on, without taking the probe into the
     * heartbeat history.
     */
    void restartSilence(long nowNanos);

    /** The clock time at which the member is suspected if no heartbeat arrives before. */
    long suspectAtNanos();

    /** A detector for {@code option}; the member was first heard at {@code nowNanos}. */
    static FailureDetector create(FailureDetection option, long dropTimeNanos, long frequencyNanos, long nowNanos) {
        if (option instanceof FailureDetection.PhiAccrual phi) {
            return new PhiAccrualDetector(phi, frequencyNanos / 1e6, nowNanos);
        }
        return new DropTimeDetector(dropTimeNanos, nowNanos);
    }
}

/** Tomcat's rule: suspect after a fixed time without heartbeats. */
final class DropTimeDetector implements FailureDetector {
    private final long dropTimeNanos;
    private long lastNanos;

    DropTimeDetector(long dropTimeNanos, long nowNanos) {
        this.dropTimeNanos = dropTimeNanos;
        this.lastNanos = nowNanos;
    }

    @Override
    public void heartbeat(long nowNanos) {
        lastNanos = Math.max(lastNanos, nowNanos);
    }

    @Override
    public void localPause(long pausedNanos, long nowNanos) {
        lastNanos = Math.min(nowNanos, lastNanos + pausedNanos);
    }

    @Override
    public void restartSilence(long nowNanos) {
        lastNanos = nowNanos;
    }

    @Override
    public long suspectAtNanos() {
        return lastNanos + dropTimeNanos;
    }
}
