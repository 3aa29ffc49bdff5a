package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code FlotillaManager} named as a context's own {@code <Manager>}: it is the manager the context uses, it replicates
 * through the cluster of the Engine, and without a Flotilla cluster the context refuses to start, saying what is
 * missing.
 */
class ContextManagerIT {

    @Test
    @Timeout(120)
    void aContextsOwnFlotillaManagerReplicatesThroughTheEnginesCluster() throws Exception {
        FlotillaManager managerA = new FlotillaManager();
        FlotillaManager managerB = new FlotillaManager();
        EmbeddedNode[] n = EmbeddedNode.pair("6", node -> node.contextManager(node.route.equals("a") ? managerA : managerB));
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            assertSame(managerA, a.context.getManager());
            assertSame(managerB, b.context.getManager());
            TestClient client = new TestClient();
            for (int i = 1; i <= 3; i++) {
                assertTrue(client.get(a, "count").body().startsWith("n=" + i + " "));
            }
            String id = client.sessionId();
            assertEquals(3, b.replicaValue(id, "n"), "PROCESSED: the backup applied every change before the answer");
            a.stop();
            await("b sees a leave", Duration.ofSeconds(20), () -> b.cluster.getMemberCount() == 1);
            assertTrue(client.get(b, "count").body().startsWith("n=4 "), "the count goes on on b");
        }
    }

    @Test
    @Timeout(60)
    void withoutAFlotillaClusterTheContextDoesNotStartAndTheLogSaysWhatIsMissing() throws Exception {
        List<String> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                Throwable t = r.getThrown();
                while (t != null) {
                    logged.add(String.valueOf(t.getMessage()));
                    t = t.getCause();
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger catalina = Logger.getLogger("org.apache.catalina");
        catalina.addHandler(capture);
        Path base = Files.createTempDirectory("flotilla-context-manager");
        Tomcat tomcat = new Tomcat();
        try {
            tomcat.setBaseDir(base.toString());
            Connector connector = new Connector();
            connector.setPort(0);
            connector.setProperty("address", "127.0.0.1");
            tomcat.setConnector(connector);
            Context ctx = tomcat.addContext("/app", Files.createDirectories(base.resolve("app")).toString());
            ctx.setDistributable(true);
            ctx.setManager(new FlotillaManager());
            tomcat.start();
            assertTrue(!ctx.getState().isAvailable(), "the context is not serving: " + ctx.getState());
            assertTrue(logged.stream().anyMatch(m -> m.contains("FlotillaManager of context '/app' needs a <Cluster "
                    + "className=\"io.flotilla.tomcat.FlotillaCluster\"/> on its Host or Engine; found none")), logged.toString());
        } finally {
            catalina.removeHandler(capture);
            tomcat.stop();
            tomcat.destroy();
            try (var files = Files.walk(base)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
