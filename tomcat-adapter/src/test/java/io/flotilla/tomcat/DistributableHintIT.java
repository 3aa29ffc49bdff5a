package io.flotilla.tomcat;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A web application deployed under a Flotilla cluster without {@code <distributable/>} replicates nothing: the
 * operator is told once, with the fix; the distributable one gets no such line.
 */
class DistributableHintIT {

    @Test
    @Timeout(120)
    void aNonDistributableApplicationUnderTheClusterIsNamedOnceWithTheFix() throws Exception {
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger(DistributableHint.class.getName());
        logger.addHandler(capture);
        EmbeddedNode[] n = EmbeddedNode.pair("8");
        try (EmbeddedNode a = n[0]; EmbeddedNode b = n[1]) {
            Path docBase = Files.createTempDirectory("flotilla-plain");
            Context plain = a.tomcat.addContext("/plain", docBase.toString()); // no <distributable/>
            await("the hint for /plain", Duration.ofSeconds(20), () -> lines.stream().anyMatch(l -> l.contains("/plain")));
            List<String> hints = lines.stream().filter(l -> l.contains("not <distributable/>")).toList();
            assertEquals(1, hints.size(), "once, and not for the distributable /app: " + hints);
            assertTrue(hints.get(0).contains("/plain") && hints.get(0).contains("WEB-INF/web.xml"), hints.get(0));
            assertTrue(plain.getState().isAvailable());
            assertEquals(2, b.cluster.getMemberCount(), "the cluster is unaffected");
        } finally {
            logger.removeHandler(capture);
        }
    }
}
