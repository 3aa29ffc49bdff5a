package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.Attribute;
import javax.management.AttributeNotFoundException;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Two embedded Tomcats with a FlotillaCluster each, static membership on 127.0.0.1, a distributable counter. */
class TomcatClusterIT {
    private static final Pattern BODY = Pattern.compile("n=(\\d+) id=(\\S+) original=(\\S+)");
    private static final Duration WAIT = Duration.ofSeconds(20);

    private static final class Client {
        final HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager())
                .connectTimeout(Duration.ofSeconds(5)).build();

        HttpResponse<String> get(EmbeddedNode node, String path) throws Exception {
            HttpRequest r = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/app/" + path))
                    .timeout(Duration.ofSeconds(20)).build();
            return http.send(r, HttpResponse.BodyHandlers.ofString());
        }

        Matcher count(EmbeddedNode node) throws Exception {
            HttpResponse<String> r = get(node, "count");
            assertEquals(200, r.statusCode(), r.body());
            Matcher m = BODY.matcher(r.body());
            assertTrue(m.matches(), r.body());
            return m;
        }
    }

    private static EmbeddedNode[] pair(String sendOptions) throws Exception {
        return EmbeddedNode.pair(sendOptions);
    }

    private static Object replicaValue(EmbeddedNode node, String id) {
        return node.replicaValue(id, "n");
    }

    private static String description(MBeanServer jmx, ObjectName name, String attribute) throws Exception {
        return attributeInfo(jmx, name, attribute).getDescription();
    }

    private static String type(MBeanServer jmx, ObjectName name, String attribute) throws Exception {
        return attributeInfo(jmx, name, attribute).getType();
    }

    private static MBeanAttributeInfo attributeInfo(MBeanServer jmx, ObjectName name, String attribute)
            throws Exception {
        return Arrays.stream(jmx.getMBeanInfo(name).getAttributes()).filter(a -> a.getName().equals(attribute))
                .findFirst().orElseThrow(() -> new AssertionError("no JMX attribute " + attribute + " on " + name));
    }

    @Test
    @Timeout(120)
    void aSessionSurvivesItsNodeAndMovesToTheLocalRoute() throws Exception {
        // a stops without a drain, so b takes the session over (DrainIT covers a stop that hands it over)
        EmbeddedNode[] n = EmbeddedNode.pair("8", node -> node.cluster.setDrainTimeout("0"));
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            Client c = new Client();
            Matcher m = null;
            for (int i = 1; i <= 3; i++) {
                m = c.count(a);
                assertEquals(Integer.toString(i), m.group(1));
            }
            String id = m.group(2);
            assertTrue(id.endsWith(".a"), id);
            await("b holds the replica at n=3", WAIT, () -> Integer.valueOf(3).equals(replicaValue(b, id)));

            a.stop();
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);

            Matcher after = c.count(b);
            assertEquals("4", after.group(1), "the count goes on from the replicated session");
            String newId = after.group(2);
            assertEquals(id.substring(0, id.length() - 2) + ".b", newId, "the session moved to b's route");
            assertEquals(id, after.group(3), "the original id is in the request attribute");
            assertEquals("5", c.count(b).group(1), "the new cookie names the session on b");
            assertTrue(b.manager().getTakeovers() >= 1);
        }
    }

    @Test
    @Timeout(120)
    void concurrentRequestsOnOneSessionLoseNoUpdate() throws Exception {
        EmbeddedNode[] n = pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            Client c = new Client();
            String id = c.count(a).group(2);
            int threads = 8;
            int each = 25;
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> fs = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    fs.add(pool.submit(() -> {
                        for (int i = 0; i < each; i++) {
                            c.count(a);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : fs) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
            int expected = 1 + threads * each;
            assertEquals(Integer.toString(expected + 1), c.count(a).group(1), "no increment lost on the owner");
            await("the replica converges to the owner's value", WAIT,
                    () -> Integer.valueOf(expected + 1).equals(replicaValue(b, id)), () -> "replica " + replicaValue(b, id));

            // JMX under Tomcat's registry (both embedded Tomcats share the engine name, so one of each registers)
            // with the names, types and descriptions of mbeans-descriptors.xml
            MBeanServer jmx = ManagementFactory.getPlatformMBeanServer();
            ObjectName cluster = jmx.queryNames(new ObjectName("*:type=Cluster,*"), null).iterator().next();
            assertEquals(2, jmx.getAttribute(cluster, "memberCount"));
            assertTrue(((String) jmx.getAttribute(cluster, "members")).contains("a@127.0.0.1"));
            assertEquals("8", jmx.getAttribute(cluster, "channelSendOptions"));
            assertEquals("static", jmx.getAttribute(cluster, "membership"));
            assertTrue(((Number) jmx.getAttribute(cluster, "messagesSent")).doubleValue()
                    + ((Number) jmx.getAttribute(cluster, "messagesReceived")).doubleValue() > 0,
                    "a's deltas were sent, or received if this is b's MBean (both register under one name)");
            assertEquals("Members in the current view, this one included", description(jmx, cluster, "memberCount"));
            assertEquals("int", type(jmx, cluster, "memberCount"));
            assertThrows(AttributeNotFoundException.class,
                    () -> jmx.setAttribute(cluster, new Attribute("membership", "multicast")), "read-only");
            ObjectName manager = jmx.queryNames(new ObjectName("*:type=Manager,context=/app,*"), null).iterator().next();
            int primaries = ((Number) jmx.getAttribute(manager, "primarySessions")).intValue();
            int replicas = ((Number) jmx.getAttribute(manager, "replicaSessions")).intValue();
            assertEquals(1, primaries + replicas, "the one session, owned on a, a replica on b");
            assertEquals(primaries + replicas, jmx.getAttribute(manager, "activeSessions"), "counted as stock counts: replicas too");
            assertEquals(Boolean.TRUE, jmx.getAttribute(manager, "stateTransferred"));
            assertTrue(((Number) jmx.getAttribute(manager, primaries == 1 ? "deltasSent" : "deltasReceived"))
                    .doubleValue() > 0, "concurrent requests may share a delta, but there were deltas");
            assertEquals("Replicas of other members' sessions held here", description(jmx, manager, "replicaSessions"));
            String ids = (String) jmx.invoke(manager, "listSessionIds", new Object[0], new String[0]);
            assertEquals(primaries == 1 ? id : "", ids.trim(), "an operation of the descriptor");
        }
    }

    @Test
    @Timeout(120)
    void aValueOfANonAllowedClassIsRefusedWithTheEnginesMessage() throws Exception {
        EmbeddedNode[] n = pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            HttpResponse<String> r = new Client().get(a, "bad");
            assertEquals(200, r.statusCode());
            String body = r.body();
            assertTrue(body.startsWith("refused: "), body);
            assertTrue(body.contains("cart") && body.contains(EmbeddedNode.Unlisted.class.getName())
                    && body.contains("allowedClasses"), body);
            assertEquals(1L, a.manager().getRefusedAttributes());
            await("the session itself still replicates, without the refused value", WAIT,
                    () -> b.manager().getReplicaSessions() == 1);
        }
    }

    /** {@code lanes}: 0, or request threads reading their replication's answer from lanes of their own. */
    @ParameterizedTest(name = "lanes={0}")
    @ValueSource(ints = { 0, 4 })
    @Timeout(120)
    void withProcessedReplicationNoAcknowledgedIncrementIsLost(int lanes) throws Exception {
        EmbeddedNode[] n = EmbeddedNode.pair("6", node -> node.cluster.setLanes(Integer.toString(lanes)));
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            Client c = new Client();
            int acknowledged = 0;
            for (int i = 0; i < 30; i++) {
                acknowledged = Integer.parseInt(c.count(a).group(1));
            }
            ReplicationValve valve = (ReplicationValve) Arrays.stream(a.tomcat.getEngine().getPipeline().getValves())
                    .filter(v -> v instanceof ReplicationValve).findFirst().orElseThrow();
            long replicated = valve.getReplicatedRequestCount();
            assertTrue(replicated >= 30, "30 requests replicated: " + replicated);
            assertEquals(a.manager().getReplications(), replicated,
                    "the valve adds up its applications' count; it does not count the same requests again");
            var sentOnLanes = a.cluster.getMeterRegistry().find("flotilla.lanes.sent").counter();
            if (lanes > 0) {
                assertTrue(sentOnLanes.count() >= 25, "the request threads replicated over lanes: "
                        + sentOnLanes.count());
            } else {
                assertEquals(0, sentOnLanes.count());
            }
            assertEquals(0, a.cluster.getMeterRegistry().find("flotilla.lanes.failed").counter().count());
            a.stop(); // right after the last acknowledged response, no waiting for replication
            await("b sees a leave", WAIT, () -> b.cluster.getMemberCount() == 1);
            Matcher after = c.count(b);
            assertEquals(Integer.toString(acknowledged + 1), after.group(1), "every acknowledged increment is on b");
            assertNotEquals("null", after.group(3), "b took the session over and moved it to its route");
        }
    }
}
