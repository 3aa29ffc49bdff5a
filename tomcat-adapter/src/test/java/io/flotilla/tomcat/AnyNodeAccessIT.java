package io.flotilla.tomcat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.MembershipEvent;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A balancer that is not sticky sends a user's requests to any node: the session moves to the node each request
 * reached (a hand-off from its live owner) with every increment, instead of the request going on without it, and its
 * id's route suffix follows (the jvmRoute rename), so a sticky balancer would send the next request to the data.
 * A live owner answers the hand-off: nobody has it verified (probed and logged as suspected) for a move.
 */
class AnyNodeAccessIT {
    @Test
    @Timeout(120)
    void aSessionFollowsItsUserFromNodeToNodeWithEveryIncrement() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("6");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            AtomicInteger suspicions = new AtomicInteger();
            for (EmbeddedNode node : n) {
                node.cluster.node().addMembershipListener(ev -> {
                    if (ev instanceof MembershipEvent.Suspected) {
                        suspicions.incrementAndGet();
                    }
                });
            }
            TestClient user = new TestClient();
            String id = null;
            for (int i = 1; i <= 12; i++) {
                EmbeddedNode node = i % 3 == 0 ? a : b; // round robin, with a repeat: a, b, b, a, b, b, ...
                HttpResponse<String> r = user.get(node, "count");
                assertEquals(200, r.statusCode(), "request " + i + " on " + node.route + ": " + r.body());
                assertTrue(r.body().startsWith("n=" + i + " "), "request " + i + " on " + node.route
                        + " saw every earlier increment: " + r.body());
                String now = r.body().split(" ")[1].substring("id=".length());
                String base = now.substring(0, now.indexOf('.'));
                assertTrue(id == null || id.equals(base), "one session all along: " + id + " then " + now);
                assertTrue(now.endsWith("." + node.route), "its route names the node that owns it now: " + now);
                id = base;
            }
            long moves = a.manager().engine().stats().handoffs() + b.manager().engine().stats().handoffs();
            assertEquals(7, moves, "moved at each change of node: b, a, b, a, b, a, b after the first request on b");
            assertEquals(0, suspicions.get(), "no owner verified for a move: each answered its hand-off");
            assertEquals(0, a.manager().getActiveSessions() + b.manager().getActiveSessions() - 2,
                    "one primary and one replica between the two nodes, no leftover copy");
        }
    }

    /**
     * A request sent before the session's cookie changed (a second tab, a request racing the move) still carries the
     * former id, whose route names the node the session left: it gets the session under its current id, with every
     * increment, not a new empty session.
     */
    @Test
    @Timeout(120)
    void aRequestWithTheFormerIdGetsTheSessionNotANewOne() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("6");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            TestClient user = new TestClient();
            assertEquals(200, user.get(b, "count").statusCode());
            String former = user.sessionId();
            HttpResponse<String> moved = user.get(a, "count"); // moves to a and takes a's route
            assertTrue(moved.body().startsWith("n=2 "), moved.body());
            assertTrue(!former.equals(user.sessionId()), "the id changed with the route: " + user.sessionId());
            for (EmbeddedNode node : n) {
                TestClient stale = new TestClient();
                HttpResponse<String> r = stale.send(HttpRequest.newBuilder(TestClient.uri(node, "count"))
                        .header("Cookie", "JSESSIONID=" + former).timeout(Duration.ofSeconds(30)).build());
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().startsWith("n=" + (node == a ? 3 : 4) + " "), "the former id on " + node.route
                        + " reached the session with every increment: " + r.body());
            }
        }
    }
}
