package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class ReplicaListenerTest {
    private static final String ID = "ABCDEF0123456789ABCDEF0123456789";
    private static final String RENAMED = "0123456789ABCDEF0123456789ABCDEF";

    private static ReplicationConfig.Builder config() {
        return ReplicationConfig.builder().stateTransferOnStart(false);
    }

    private static String describe(ReplicaChange c) {
        return c.cause() + " " + c.id().substring(0, 4) + c.previousId().map(p -> "<-" + p.substring(0, 4)).orElse("")
                + " " + c.changedNames();
    }

    @Test
    void aReplicaHearsEachChangeWithItsCauseAndOnlyTheNamesWhoseValueChanged() {
        List<ReplicaChange> heard = new CopyOnWriteArrayList<>();
        try (EngineHarness h = new EngineHarness(2, 11, EngineHarness.nodeConfig(100))) {
            h.start(0, config().build());
            h.start(1, config().build(), heard::add);
            PrimarySession s = h.engine(0).create(ID, 1800);
            s.setAttribute("cart", new ArrayList<>(List.of("a")));
            s.setAttribute("user", "ann");
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> heard.size() == 1, 1000));
            assertEquals(List.of("a"), heard.get(0).value("cart"), "decoded on demand");
            assertNull(heard.get(0).before());

            s.setAttribute("user", "ann"); // the same bytes: not a change for the listeners
            s.setAttribute("cart", new ArrayList<>(List.of("a", "b")));
            h.engine(0).replicate(ID);
            assertTrue(h.runUntil(() -> heard.size() == 2, 1000));
            assertEquals(List.of("a"), heard.get(1).previousValue("cart"));
            assertEquals(List.of("a", "b"), heard.get(1).value("cart"));

            s.removeAttribute("user");
            s.changeId(RENAMED);
            h.engine(0).replicate(RENAMED);
            assertTrue(h.runUntil(() -> heard.size() == 3, 1000));

            s.invalidate();
            assertTrue(h.runUntil(() -> heard.size() == 4, 1000));
            assertEquals(List.of("CREATED ABCD [cart, user]", "UPDATED ABCD [cart]", "UPDATED 0123<-ABCD [user]",
                    "ENDED 0123 []"), heard.stream().map(ReplicaListenerTest::describe).toList());
            assertNull(heard.get(3).after());
        }
    }

    @Test
    void aTakeOverAndAnOrphanReplicaExpiringAreHeard() {
        List<ReplicaChange> heard = new CopyOnWriteArrayList<>();
        try (EngineHarness h = new EngineHarness(2, 12, EngineHarness.nodeConfig(100))) {
            h.start(0, config().expiryInterval(Duration.ofSeconds(1)).build());
            h.start(1, config().expiryInterval(Duration.ofSeconds(1)).build(), heard::add);
            h.engine(0).create(ID, 60).setAttribute("x", 1);
            h.engine(0).replicate(ID);
            h.engine(0).create(RENAMED, 60).setAttribute("x", 1);
            h.engine(0).replicate(RENAMED);
            assertTrue(h.runUntil(() -> heard.size() == 2, 1000));

            h.cluster.network().partition(h.cluster.member(0), h.cluster.member(1));
            h.cluster.membership(1).remove(h.cluster.member(0), false);
            assertTrue(h.takeOver(1, ID).isPresent());
            assertEquals("TAKEN_OVER ABCD []", describe(heard.get(2)), "told before find returned");
            h.advance(Duration.ofSeconds(121));
            assertEquals(List.of("EXPIRED 0123 []"), heard.stream().skip(3).map(ReplicaListenerTest::describe).toList());
        }
    }

    @Test
    void aSessionBroughtByStateTransferIsHeardAsTransferred() {
        List<ReplicaChange> heard = new CopyOnWriteArrayList<>();
        try (EngineHarness h = new EngineHarness(2, 13, EngineHarness.nodeConfig(100))) {
            // replicated to nobody: only the transfer brings it to the joiner
            h.start(0, config().placement((id, self, view) -> List.of()).build());
            h.engine(0).create(ID, 1800).setAttribute("x", 1);
            h.engine(0).replicate(ID);
            ReplicationEngine joiner = h.start(1, ReplicationConfig.builder().build(), heard::add);
            assertTrue(h.runUntil(() -> joiner.stateTransfer().isDone() && !heard.isEmpty(), 10_000));
            assertEquals(ReplicaCause.TRANSFERRED, heard.get(0).cause());
            assertEquals(Set.of("x"), heard.get(0).changedNames());
            assertEquals(1, heard.get(0).value("x"));
        }
    }
}
