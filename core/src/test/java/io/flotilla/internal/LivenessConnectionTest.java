package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.FlotillaException;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.NodeConfig;
import io.flotilla.testing.CapturingTransport;
import io.flotilla.testing.FixedMembership;
import io.flotilla.testing.InMemoryCluster;
import io.flotilla.testing.ManualClock;
import io.flotilla.wire.FrameType;
import java.net.ConnectException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * A node keeps a connection open to every member of its view, so a member that crashes breaks it and becomes a
 * suspect within milliseconds, not after dropTime of silent heartbeats. When the connection opened at the member's
 * join fails, it is opened again; when it cannot be made at all, the member is a suspect at once.
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

    @Test
    void aMemberThatCrashedBeforeItsLivenessConnectionWasMadeIsSuspectedAtOnce() {
        // Found in CI: killed right after the observer saw it join, the member refused the liveness connection and
        // was noticed only after dropTime of silence.
        try (InMemoryCluster c = new InMemoryCluster(2, 40_101,
                NodeConfig.builder().clusterName("t").timeout(Duration.ofSeconds(5)).build())) {
            Member other = c.member(1);
            c.membership(0).remove(other, false);
            c.network().partition(c.member(0), other); // nothing answers at its address: a ConnectException
            c.clock().advance(STEP);
            c.membership(0).suspicions.clear(); // the open connections broke
            c.membership(0).join(other);
            c.clock().advance(STEP);
            assertFalse(c.membership(0).suspicions.isEmpty(), "the member nobody can connect to is suspected");
            assertTrue(c.membership(0).suspicions.get(0).contains("no connection can be opened"),
                    c.membership(0).suspicions.get(0));
        }
    }

    @Test
    void aHandshakeThePeerFailedIsNoSuspicion() {
        // A peer that answers and then fails the handshake (another secret, TLS) is misconfigured, not crashed.
        ManualClock clock = new ManualClock();
        CapturingTransport transport = new CapturingTransport();
        FixedMembership membership = new FixedMembership();
        try (DefaultNode node = new DefaultNode(NodeConfig.builder().clusterName("t").build(), clock, clock,
                transport, membership, Runnable::run)) {
            node.start();
            Member peer = new Member(MemberId.random(), "peer", "127.0.0.1", 5001, "", new byte[0], 1);
            membership.join(peer);
            transport.context.inbound().onSendFailed(peer,
                    new FlotillaException("connection to peer refused [bad_secret]: the secrets differ"));
            assertTrue(membership.suspicions.isEmpty(), membership.suspicions.toString());
            transport.context.inbound().onSendFailed(peer, new FlotillaException("cannot connect to peer",
                    new ConnectException("Connection refused")));
            assertEquals(1, membership.suspicions.size(), membership.suspicions.toString());
        }
    }
}
