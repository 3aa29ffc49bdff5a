package io.flotilla.membership;

import io.flotilla.ConfigurationException;
import java.time.Duration;
import java.util.Objects;

/**
 * How {@link MulticastMembership} decides that a member's heartbeats have stopped. Either way a suspect is verified
 * over TCP before it is removed.
 *
 * <ul>
 *   <li>{@link DropTime}: Tomcat's rule, a member is suspected after {@code dropTime} without a heartbeat.
 *   <li>{@link PhiAccrual}: the adaptive detector of Hayashibara et al. (as in Akka): a member is suspected when
 *       the suspicion level phi, computed from the history of its heartbeat inter-arrival times, reaches the
 *       threshold. On a quiet network with regular heartbeats it suspects much sooner than a fixed
 *       {@code dropTime}; on a jittery one it waits longer.
 * </ul>
 *
 * <p>Threading: immutable values, safe to share.
 */
public sealed interface FailureDetection permits FailureDetection.DropTime, FailureDetection.PhiAccrual {

    /** The fixed {@code dropTime} rule (the default). */
    static FailureDetection dropTime() {
        return new DropTime();
    }

    /** Phi accrual with Akka's defaults: threshold 8, window 1000, min std deviation 100 ms, no acceptable pause. */
    static PhiAccrual phiAccrual() {
        return new PhiAccrual(8.0, 1000, Duration.ofMillis(100), Duration.ZERO);
    }

    /** Suspect a member after {@code dropTime} of silence. */
    record DropTime() implements FailureDetection { }

    /**
     * Suspect a member when phi reaches {@code threshold}.
     *
     * @param threshold phi at which a member is suspected; 8 means the chance of a false suspicion is about
     *     10<sup>-8</sup> under the normal model (default 8)
     * @param windowSize how many inter-arrival times the history keeps (default 1000)
     * @param minStdDeviation floor of the standard deviation, so perfectly regular heartbeats do not make the
     *     detector hair-triggered (default 100 ms)
     * @param acceptableHeartbeatPause added to the mean interval: pauses (GC, network) that are tolerated before
     *     phi rises (default 0)
     */
    record PhiAccrual(double threshold, int windowSize, Duration minStdDeviation, Duration acceptableHeartbeatPause)
            implements FailureDetection {
        public PhiAccrual {
            Objects.requireNonNull(minStdDeviation, "minStdDeviation");
            Objects.requireNonNull(acceptableHeartbeatPause, "acceptableHeartbeatPause");
            if (!(threshold > 0) || Double.isInfinite(threshold)) {
                throw ConfigurationException.invalid("phi.threshold", threshold, "use a finite number > 0, e.g. 8");
            }
            if (windowSize < 2 || windowSize > 100_000) {
                throw ConfigurationException.invalid("phi.windowSize", windowSize, "use 2-100000, e.g. 1000");
            }
            if (minStdDeviation.isNegative() || minStdDeviation.isZero()) {
                throw ConfigurationException.invalid("phi.minStdDeviation", minStdDeviation, "use > 0, e.g. 100 ms");
            }
            if (acceptableHeartbeatPause.isNegative()) {
                throw ConfigurationException.invalid("phi.acceptableHeartbeatPause", acceptableHeartbeatPause,
                        "use >= 0");
            }
        }

        public PhiAccrual withThreshold(double value) {
            return new PhiAccrual(value, windowSize, minStdDeviation, acceptableHeartbeatPause);
        }

        public PhiAccrual withWindowSize(int value) {
            return new PhiAccrual(threshold, value, minStdDeviation, acceptableHeartbeatPause);
        }

        public PhiAccrual withMinStdDeviation(Duration value) {
            return new PhiAccrual(threshold, windowSize, value, acceptableHeartbeatPause);
        }

        public PhiAccrual withAcceptableHeartbeatPause(Duration value) {
            return new PhiAccrual(threshold, windowSize, minStdDeviation, value);
        }
    }
}
