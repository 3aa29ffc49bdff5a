package io.flotilla.membership;

/**
 * The phi accrual failure detector (Hayashibara et al., 2004), computed as Akka does: the inter-arrival times of
 * heartbeats are modelled as a normal distribution whose mean and standard deviation come from a sliding window;
 * phi = -log10(P(a heartbeat arrives later than now)), with the logistic approximation of the normal CDF.
 *
 * <p>The window starts with two intervals around the expected heartbeat period (period +/- period/4), as Akka's
 * {@code first-heartbeat-estimate}, so a member heard once is not judged on no data.
 *
 * <p>Threading: not thread-safe; owned by the membership loop.
 */
final class PhiAccrualDetector implements FailureDetector {
    /** Longest silence considered when looking for the suspicion time. */
    private static final long MAX_SEARCH_NANOS = 3_600_000_000_000L;

    private final double threshold;
    private final double minStdDeviationMillis;
    private final double acceptablePauseMillis;
    private final double[] intervals;
    private int count;
    private int next;
    private double sum;
    private double sumOfSquares;
    private long lastNanos;
    private long suspectAtNanos;
    /** After a local pause: heartbeats before this time only mark the member heard (they were queued meanwhile). */
    private long historyResumesAtNanos;
    private boolean stale = true;

    PhiAccrualDetector(FailureDetection.PhiAccrual config, double firstEstimateMillis, long nowNanos) {
        this.threshold = config.threshold();
        this.minStdDeviationMillis = config.minStdDeviation().toNanos() / 1e6;
        this.acceptablePauseMillis = config.acceptableHeartbeatPause().toNanos() / 1e6;
        this.intervals = new double[config.windowSize()];
        this.lastNanos = nowNanos;
        this.historyResumesAtNanos = nowNanos;
        double deviation = firstEstimateMillis / 4;
        add(firstEstimateMillis - deviation);
        add(firstEstimateMillis + deviation);
    }

    private void add(double intervalMillis) {
        if (count == intervals.length) {
            double old = intervals[next];
            sum -= old;
            sumOfSquares -= old * old;
        } else {
            count++;
        }
        intervals[next] = intervalMillis;
        next = (next + 1) % intervals.length;
        sum += intervalMillis;
        sumOfSquares += intervalMillis * intervalMillis;
    }

    @Override
    public void heartbeat(long nowNanos) {
        if (nowNanos - lastNanos <= 0) {
            return; // stamped before the last heartbeat or restart (it waited in the loop's queue)
        }
        if (nowNanos - historyResumesAtNanos >= 0) {
            add((nowNanos - lastNanos) / 1e6);
        }
        lastNanos = nowNanos;
        stale = true;
    }

    @Override
    public void localPause(long pausedNanos, long nowNanos) {
        lastNanos = Math.min(nowNanos, lastNanos + pausedNanos);
        // The member's heartbeats of the pause are read back to back now: their spacing says nothing about it.
        historyResumesAtNanos = nowNanos + (long) (meanMillis() * 1e6 / 2);
        stale = true;
    }

    @Override
    public void restartSilence(long nowNanos) {
        lastNanos = nowNanos;
        stale = true;
    }

    double meanMillis() {
        return sum / count;
    }

    double stdDeviationMillis() {
        double mean = meanMillis();
        return Math.sqrt(Math.max(0, sumOfSquares / count - mean * mean));
    }

    /** Phi at clock time {@code nowNanos}. */
    double phi(long nowNanos) {
        return phiAfter(nowNanos - lastNanos);
    }

    private double phiAfter(long silenceNanos) {
        double mean = meanMillis() + acceptablePauseMillis;
        double deviation = Math.max(stdDeviationMillis(), minStdDeviationMillis);
        return phi(silenceNanos / 1e6, mean, deviation);
    }

    /** Akka's formula: logistic approximation of the normal CDF, accurate to about 1e-4 in probability. */
    static double phi(double silenceMillis, double meanMillis, double stdDeviationMillis) {
        double y = (silenceMillis - meanMillis) / stdDeviationMillis;
        double e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
        if (silenceMillis > meanMillis) {
            return -Math.log10(e / (1.0 + e));
        }
        return -Math.log10(1.0 - 1.0 / (1.0 + e));
    }

    @Override
    public long suspectAtNanos() {
        if (stale) {
            suspectAtNanos = lastNanos + firstSilenceReachingThreshold();
            stale = false;
        }
        return suspectAtNanos;
    }

    /** The shortest silence, in nanoseconds, at which phi reaches the threshold (phi grows with the silence). */
    private long firstSilenceReachingThreshold() {
        if (phiAfter(0) >= threshold) {
            return 0;
        }
        long high = 1_000_000;
        while (phiAfter(high) < threshold) {
            if (high >= MAX_SEARCH_NANOS) {
                return MAX_SEARCH_NANOS;
            }
            high = Math.min(high * 2, MAX_SEARCH_NANOS);
        }
        long low = 0;
        while (high - low > 1) {
            long mid = low + (high - low) / 2;
            if (phiAfter(mid) >= threshold) {
                high = mid;
            } else {
                low = mid;
            }
        }
        return high;
    }
}
