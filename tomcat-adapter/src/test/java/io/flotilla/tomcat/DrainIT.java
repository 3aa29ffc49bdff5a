package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.management.DynamicMBean;
import org.apache.tomcat.util.modeler.Registry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Graceful drain in Tomcat: stopping a node, or the cluster MBean's {@code drain} operation, hands the sessions it owns
 * to the other node before it leaves, so the other serves them at once at their newest count, with no take-over.
 */
class DrainIT {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final int USERS = 5;

    /** Each user clicks {@code clicks} times on {@code node}; returns the users. */
    private static List<TestClient> clickOn(EmbeddedNode node, int clicks) throws Exception {
        List<TestClient> users = new ArrayList<>();
        for (int u = 0; u < USERS; u++) {
            TestClient user = new TestClient();
            for (int i = 1; i <= clicks; i++) {
                HttpResponse<String> r = user.get(node, "count");
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().startsWith("n=" + i + " "), r.body());
            }
            users.add(user);
        }
        return users;
    }

    /** Each user's next click on {@code node} counts on from {@code clicks}. */
    private static void countOn(EmbeddedNode node, List<TestClient> users, int clicks) throws Exception {
        for (TestClient user : users) {
            HttpResponse<String> r = user.get(node, "count");
            assertEquals(200, r.statusCode(), r.body());
            assertTrue(r.body().startsWith("n=" + (clicks + 1) + " "), "counts on where it was: " + r.body());
        }
    }

    @Test
    @Timeout(120)
    void stoppingANodeHandsItsSessionsToTheOtherWhichServesThemWithoutATakeOver() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("6");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            List<TestClient> users = clickOn(a, 3);
            a.stop();
            for (TestClient user : users) {
                assertTrue(b.manager().engine().find(user.sessionId()).isPresent(),
                        "b owns " + user.sessionId() + " as soon as a stopped");
            }
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);
            countOn(b, users, 3);
            assertEquals(0, b.manager().engine().stats().takeovers(), "no take-over round was needed");
        }
    }

    @Test
    @Timeout(120)
    void theJmxDrainOperationHandsTheSessionsOverAndTheNodeStays() throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("6");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            List<TestClient> users = clickOn(a, 2);
            // the model MBean Tomcat's registry builds from the descriptor (both nodes share one JVM and JMX name)
            Registry registry = Registry.getRegistry(null);
            registry.loadDescriptors("io.flotilla.tomcat", FlotillaCluster.class.getClassLoader());
            DynamicMBean mbean = registry.findManagedBean(FlotillaCluster.class.getName()).createMBean(a.cluster);
            Object report = mbean.invoke("drain", new Object[0], new String[0]);
            assertTrue(String.valueOf(report).contains(USERS + " session(s) handed over, 0 not"), "report: " + report);
            assertTrue(a.manager().engine().primaryIds().isEmpty(), "a owns nothing any more");
            assertEquals(2, a.cluster.getMemberCount(), "a stays in the cluster");
            countOn(b, users, 2);
            assertEquals(0, b.manager().engine().stats().takeovers(), "no take-over round was needed");
        }
    }
}
