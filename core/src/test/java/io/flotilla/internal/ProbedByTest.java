package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Member;
import io.flotilla.NodeConfig;
import io.flotilla.testing.FixedMembership;
import io.flotilla.testing.InMemoryNetwork;
import io.flotilla.testing.ManualClock;
import org.junit.jupiter.api.Test;

/**
 * A node tells its membership who probed it, so a membership that finds members by probing (static, DNS) verifies a
 * newcomer at once instead of at its next round.
 */
class ProbedByTest {
    @Test
    void aProbedNodeTellsItsMembershipWhoProbedIt() throws Exception {
        ManualClock clock = new ManualClock();
        InMemoryNetwork network = new InMemoryNetwork(clock, 1);
        FixedMembership membershipA = new FixedMembership();
        FixedMembership membershipB = new FixedMembership();
        NodeConfig config = NodeConfig.builder().clusterName("t").build();
        try (DefaultNode a = new DefaultNode(config.toBuilder().memberName("a").build(), clock, clock,
                network.transports().create(), membershipA, Runnable::run);
                DefaultNode b = new DefaultNode(config.toBuilder().memberName("b").build(), clock, clock,
                        network.transports().create(), membershipB, Runnable::run)) {
            a.start();
            b.start();
            Member answered = membershipA.probe(b.localMember()).toCompletableFuture().getNow(null);
            assertTrue(answered != null && answered.sameDescription(b.localMember()), String.valueOf(answered));
            assertEquals(1, membershipB.probedBy.size());
            assertTrue(membershipB.probedBy.get(0).sameDescription(a.localMember()));
            assertTrue(membershipA.probedBy.isEmpty(), "the prober is not told of its own probe");
        }
    }
}
