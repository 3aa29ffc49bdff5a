package io.flotilla.membership;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Phi values on known traces, against numbers computed independently from Akka's formula. */
class PhiAccrualDetectorTest {
    private static final long MS = 1_000_000L;

    private static PhiAccrualDetector regular(FailureDetection.PhiAccrual config, long[] intervalsMillis) {
        PhiAccrualDetector d = new PhiAccrualDetector(config, 500, 0);
        long t = 0;
        for (long interval : intervalsMillis) {
            t += interval * MS;
            d.heartbeat(t);
        }
        return d;
    }

    private static long[] repeat(long value, int times) {
        long[] out = new long[times];
        Arrays.fill(out, value);
        return out;
    }

    @Test
    void regularHeartbeatsThenAPauseGiveKnownPhiValues() {
        PhiAccrualDetector d = regular(FailureDetection.phiAccrual(), repeat(500, 20));
        long last = 20 * 500 * MS;
        assertEquals(500.0, d.meanMillis(), 1e-9);
        // Perfectly regular: the deviation is the 100 ms floor.
        assertEquals(0.301030, d.phi(last + 500 * MS), 1e-5);
        assertEquals(1.642828, d.phi(last + 700 * MS), 1e-5);
        assertEquals(7.299947, d.phi(last + 1000 * MS), 1e-5);
        assertEquals(7.980831, d.phi(last + 1022 * MS), 1e-5);
        // Threshold 8 is crossed 1022.599 ms after the last heartbeat: a third of Tomcat's dropTime.
        assertEquals(1022.5987, (d.suspectAtNanos() - last) / 1e6, 1e-3);
        assertTrue(d.phi(d.suspectAtNanos()) >= 8.0);
        assertTrue(d.phi(d.suspectAtNanos() - 1) < 8.0);
    }

    @Test
    void aLocalPauseIsNotCountedAsSilenceAndTheBurstAfterItIsNotHistory() {
        PhiAccrualDetector d = regular(FailureDetection.phiAccrual(), repeat(500, 20));
        long last = 20 * 500 * MS;
        long resumed = last + 5_300 * MS; // this process stopped 100 ms after the last heartbeat, for 5.2 s
        d.localPause(5_200 * MS, resumed);
        assertEquals(1022.5987, (d.suspectAtNanos() - last - 5_200 * MS) / 1e6, 1e-3, "the pause does not count");
        for (int i = 0; i < 10; i++) {
            d.heartbeat(resumed + i * MS); // the heartbeats the kernel kept, read back to back
        }
        d.heartbeat(resumed - MS); // one stamped before the last: changes nothing
        double deviation = d.stdDeviationMillis();
        assertEquals(500.0, d.meanMillis(), 1e-9);
        d.heartbeat(resumed + (9 + 532) * MS); // regular ones count again: 22 intervals (2 estimates) and this one
        assertEquals((22 * 500.0 + 532) / 23, d.meanMillis(), 1e-9);
        assertTrue(d.stdDeviationMillis() < deviation + 10, "no zero-length intervals were taken in");
    }

    @Test
    void jitteryHeartbeatsWidenTheDistributionAndDelaySuspicion() {
        long[] jitter = new long[20];
        for (int i = 0; i < jitter.length; i++) {
            jitter[i] = i % 2 == 0 ? 300 : 700;
        }
        PhiAccrualDetector d = regular(FailureDetection.phiAccrual(), jitter);
        long last = 20 * 500 * MS;
        assertEquals(194.3813, d.stdDeviationMillis(), 1e-3);
        assertEquals(0.301030, d.phi(last + 500 * MS), 1e-5);
        assertEquals(2.308437, d.phi(last + 1000 * MS), 1e-5);
        assertEquals(7.742114, d.phi(last + 1500 * MS), 1e-5);
        assertEquals(1515.834, (d.suspectAtNanos() - last) / 1e6, 1e-2);
    }

    @Test
    void acceptablePauseShiftsTheMean() {
        PhiAccrualDetector d = regular(FailureDetection.phiAccrual().withAcceptableHeartbeatPause(
                Duration.ofMillis(1000)), repeat(500, 20));
        long last = 20 * 500 * MS;
        assertEquals(0.301030, d.phi(last + 1500 * MS), 1e-5);
        assertEquals(1.642828, d.phi(last + 1700 * MS), 1e-5);
        assertEquals(7.299947, d.phi(last + 2000 * MS), 1e-5);
    }

    @Test
    void windowForgetsOldIntervals() {
        PhiAccrualDetector d = regular(FailureDetection.phiAccrual().withWindowSize(10), repeat(1000, 10));
        // The two first-estimate intervals and the older ones have left the window: only 1000 ms intervals remain.
        assertEquals(1000.0, d.meanMillis(), 1e-9);
        assertEquals(0.0, d.stdDeviationMillis(), 1e-6);
    }

    @Test
    void probeAnswerRestartsTheSilenceWithoutTouchingTheHistory() {
        PhiAccrualDetector d = regular(FailureDetection.phiAccrual(), repeat(500, 20));
        double mean = d.meanMillis();
        long later = 30_000 * MS;
        d.restartSilence(later);
        assertEquals(mean, d.meanMillis(), 1e-9);
        assertEquals(0.301030, d.phi(later + 500 * MS), 1e-5);
    }
}
