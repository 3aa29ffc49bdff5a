package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.NodeConfig;
import io.flotilla.testing.InMemoryCluster;
import io.flotilla.wire.FrameType;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A node keeps a connection open to every member of its view, so a member that crashes breaks it and becomes a
 * suspect within milliseconds, not after dropTime of silent heartbeats. When the connection opened at the member's
 * join fails (found in CI: reset by a member that was still starting), it is opened again.
 */
class LivenessConnectionTest {
    private static final Duration STEP = Duration.ofMillis(1);

    @Test
    void aLivenessConnectionThatFailedAtTheJoinIsOpenedAgainSoACrashIsStillNoticedAtOnce() {
        try (InMemoryCluster c = new InMemoryCluster(2, 40_001,
                NodeConfig.builder().clusterName("t").timeout(Duration.ofSeconds(5)).build())) {
            Member self = c.member(0);
            Member other = c.member(1);
            // Member 1 joins member 0's view again while no connection can be made: the join's connection fails.
            c.network().partition(self, other);
            c.membership(0).remove(other, false);
            long pings = c.network().framesWritten(self, FrameType.PING);
            c.membership(0).join(other);
            c.clock().advance(STEP); // the failed connection is reported
            c.network().heal();
            assertTrue(c.runUntil(() -> c.network().framesWritten(self, FrameType.PING) > pings, STEP, 2_000),
                    "member 0 connected to member 1 again");
            // Then member 1 crashes: its connections break.
            c.membership(0).suspicions.clear();
            c.network().breakConnections(other);
            c.clock().advance(STEP);
            assertFalse(c.membership(0).suspicions.isEmpty(),
                    "member 0 suspected the crashed member at once, from its broken connection");
            assertTrue(c.membership(0).suspicions.get(0).contains("connection"), c.membership(0).suspicions.get(0));
        }
    }
}
