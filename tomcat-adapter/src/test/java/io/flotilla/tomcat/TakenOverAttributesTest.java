package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.NodeConfig;
import io.flotilla.replication.CodecConfig;
import io.flotilla.replication.PrimarySession;
import io.flotilla.replication.ReplicationConfig;
import io.flotilla.replication.ReplicationEngine;
import io.flotilla.replication.fixtures.Cart;
import io.flotilla.testing.InMemoryCluster;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TakenOverAttributesTest {
    private static final String ID = "ABCDEF0123456789ABCDEF0123456789";

    @Test
    void aTakenOverSessionDecodesEachValueOnlyWhenItIsFirstRead() {
        NodeConfig nc = NodeConfig.builder().clusterName("t").timeout(Duration.ofSeconds(5)).build();
        try (InMemoryCluster c = new InMemoryCluster(2, 7, nc)) {
            // the owner may replicate Cart; the member taking over may not decode it
            ReplicationEngine owner = engine(c, 0, ReplicationConfig.builder().stateTransferOnStart(false)
                    .codec(CodecConfig.builder().allow("io.flotilla.replication.fixtures.*").build()));
            ReplicationEngine taker = engine(c, 1, ReplicationConfig.builder().stateTransferOnStart(false));
            PrimarySession s = owner.create(ID, 1800);
            s.setAttribute("user", "ann");
            s.setAttribute("cart", new Cart("ann", BigDecimal.ONE));
            owner.replicate(ID);
            assertTrue(c.runUntil(() -> taker.replica(ID).isPresent(), Duration.ofMillis(1), 1000));
            c.network().partition(c.member(0), c.member(1));
            c.membership(1).remove(c.member(0), false);
            PrimarySession taken = taker.find(ID).orElseThrow();

            TakenOverAttributes attributes = new TakenOverAttributes(taken);
            assertEquals(Set.of("user", "cart"), attributes.keySet(), "every name at once, nothing decoded yet: "
                    + "the value this member cannot decode is still listed");
            assertEquals("ann", attributes.get("user"));
            assertNull(attributes.get("cart"), "refused when first read, with a warning");
            assertFalse(attributes.containsKey("cart"), "and dropped, as an eager restore dropped it");
            assertEquals("ann", attributes.remove("user"), "a removal hands the decoded value to the listeners");
            owner.close();
            taker.close();
        }
    }

    private static ReplicationEngine engine(InMemoryCluster c, int i, ReplicationConfig.Builder config) {
        return ReplicationEngine.builder(c.node(i)).config(config.build()).clock(c.clock()).scheduler(c.clock()).start();
    }
}
