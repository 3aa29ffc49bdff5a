package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.bench.BenchTomcat;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.apache.catalina.Session;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The two-node clusters the replication benchmarks measure really replicate: stock and Flotilla, async and sync,
 * the backup holds the session with the attribute the servlet set, so no benchmark measures a cluster that does
 * nothing. (In package {@code io.flotilla.tomcat} to read a Flotilla backup's state.)
 */
class BenchTomcatTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    @ParameterizedTest
    @CsvSource({"STOCK,false", "STOCK,true", "FLOTILLA,false", "FLOTILLA,true"})
    void theBackupHoldsTheAttributeTheServletSet(BenchTomcat.Kind kind, boolean sync) throws Exception {
        List<Integer> ports = List.of(BenchTomcat.freePort(), BenchTomcat.freePort());
        try (BenchTomcat a = new BenchTomcat("a", kind, sync, ports.get(0), ports);
                BenchTomcat b = new BenchTomcat("b", kind, sync, ports.get(1), ports)) {
            HttpClient http = HttpClient.newBuilder().cookieHandler(new CookieManager()).build();
            URI uri = URI.create("http://127.0.0.1:" + a.httpPort() + "/app/set");
            String body = "";
            String id = null;
            // The first requests may run before the members see each other; the session's later deltas reach b.
            for (int i = 1; i <= 3; i++) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                body = r.body();
                id = a.manager().findSessions()[0].getId();
            }
            assertEquals("3", body);
            String sessionId = id;
            await(kind + " backup holds n=3", WAIT, () -> Integer.valueOf(3).equals(attribute(b, sessionId)),
                    () -> "a: " + state(a) + ", b: " + state(b) + ", b's value " + attribute(b, sessionId));
        }
    }

    private static String state(BenchTomcat node) {
        if (node.manager() instanceof FlotillaManager m) {
            FlotillaCluster c = (FlotillaCluster) node.context().getParent().getParent().getCluster();
            return c.getMembers() + " primary " + m.getPrimarySessions() + " replica " + m.getReplicaSessions()
                    + " sent " + m.getDeltasSent() + " received " + m.getDeltasReceived();
        }
        return "sessions " + node.manager().getActiveSessions();
    }

    /** The backup's value, read without taking the session over (Flotilla's findSession on a backup would). */
    private static Object attribute(BenchTomcat node, String id) {
        if (node.manager() instanceof FlotillaManager) {
            return BenchReplicas.attribute(node.manager(), id, BenchTomcat.ATTRIBUTE);
        }
        try {
            Session s = node.manager().findSession(id);
            return s == null ? null : s.getSession().getAttribute(BenchTomcat.ATTRIBUTE);
        } catch (IOException e) {
            return null;
        }
    }
}
