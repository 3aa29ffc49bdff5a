package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code notifyListenersOnReplication}: the session and attribute listeners of the member holding a replica hear of
 * the session as replication arrives (stock {@code DeltaManager}), and hear nothing when it is false. Every node's
 * {@link EmbeddedNode.SessionEvents} records what its listeners heard.
 */
class ReplicationListenersIT {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private static List<String> eventsOf(EmbeddedNode node, String id) {
        return node.events.stream().filter(e -> e.endsWith(" " + id) || e.contains(id + "->")
                || e.contains("->" + id)).toList();
    }

    /** Creates a session on a, sets, replaces and removes an attribute, and invalidates it; its id. */
    private static String lifeOfASession(TestClient c, EmbeddedNode a, EmbeddedNode b, boolean waitForB)
            throws Exception {
        String id = c.get(a, "session?set=color&value=red").body();
        if (waitForB) {
            await("b has red", WAIT, () -> "red".equals(b.replicaValue(id, "color")));
        }
        c.get(a, "session?set=color&value=blue");
        if (waitForB) {
            await("b has blue", WAIT, () -> "blue".equals(b.replicaValue(id, "color")));
        }
        c.get(a, "session?remove=color");
        if (waitForB) {
            await("b has no color", WAIT, () -> b.manager().engine().replica(id)
                    .map(r -> !r.attributeNames().contains("color")).orElse(false));
        }
        c.get(a, "session?invalidate");
        await("b dropped the replica", WAIT, () -> b.manager().engine().replica(id).isEmpty());
        return id;
    }

    @Test
    @Timeout(120)
    void theBackupsListenersHearEachChangeAsItArrives() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            String id = lifeOfASession(new TestClient(), a, b, true);
            List<String> expected = List.of("created " + id, "added color=red " + id, "replaced color=red->blue " + id,
                    "removed color=blue " + id, "destroyed " + id);
            await("b's listeners heard the whole life of the session", WAIT,
                    () -> eventsOf(b, id).equals(expected), () -> "b heard " + eventsOf(b, id));
            assertEquals(expected, eventsOf(a, id), "the owner's listeners heard the same (as ever)");
            assertEquals(0, b.manager().replicaViews(), "the ended replica left no session behind");
            assertEquals(0, b.manager().getActiveSessions(), "replica views are never the manager's sessions");
        }
    }

    @Test
    @Timeout(120)
    void withNotifyListenersOnReplicationFalseTheBackupsListenersHearNothing() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8", node -> node.cluster.setNotifyListenersOnReplication("false"));
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            String id = lifeOfASession(new TestClient(), a, b, true);
            assertEquals(5, eventsOf(a, id).size(), "the owner's listeners still hear everything: " + eventsOf(a, id));
            assertEquals(List.of(), eventsOf(b, id), "b received every change but announced none");
            assertEquals(List.of(), b.events);
        }
    }

    @Test
    @Timeout(120)
    void aSessionTakenOverAfterFailoverIsNotAnnouncedTwice() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            TestClient c = new TestClient();
            String id = c.get(a, "session?set=color&value=red").body();
            await("b announced the session", WAIT,
                    () -> eventsOf(b, id).equals(List.of("created " + id, "added color=red " + id)),
                    () -> "b heard " + b.events);
            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);

            String moved = c.get(b, "session?set=color&value=green").body();
            assertTrue(moved.endsWith(".b"), moved);
            assertEquals(List.of("created " + id, "added color=red " + id, "idChanged " + id + "->" + moved,
                    "replaced color=red->green " + moved), b.events, "one creation: at replication, not again at take-over");
        }
    }

    @Test
    @Timeout(120)
    void aSessionReceivedByStateTransferIsTakenInSilentlyAndItsNextChangeIsHeard() throws Exception {
        List<Integer> ports = List.of(EmbeddedNode.freePort(), EmbeddedNode.freePort());
        try (EmbeddedNode a = new EmbeddedNode("a", ports.get(0), ports, "8").start()) {
            TestClient c = new TestClient();
            String id = c.get(a, "session?set=color&value=red").body();
            try (EmbeddedNode b = new EmbeddedNode("b", ports.get(1), ports, "8").start()) {
                assertEquals("red", b.replicaValue(id, "color"), "b waited for a to join its view, so its start "
                        + "brought the session by state transfer");
                assertEquals(List.of(), b.events, "stock announces no transferred session either");

                // a replicates to the members of its own view, which may not hold b yet although b holds a: the
                // engine does not send a change made in that window to b later (b gets it with the next change)
                await("a sees b", WAIT, () -> a.cluster.getMemberCount() == 2);
                c.get(a, "session?set=color&value=blue");
                await("b heard the change, against the transferred value", WAIT,
                        () -> b.events.equals(List.of("replaced color=red->blue " + id)), () -> "b heard " + b.events);
            }
        }
    }
}
