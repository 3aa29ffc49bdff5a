package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.tomcat.HowToBlock;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 14's promise in real Tomcat 10.1 and 11.0 distributions: the cluster how-to's stock {@code <Cluster>} block with
 * only its {@code className} changed to {@code io.flotilla.tomcat.FlotillaCluster} (and the drop-in jar in {@code
 * lib}) runs the failover story of {@link StockTomcatClusterIT} (three nodes, kill -9, restart) with no session lost.
 * To keep every packet on this machine the block's receiver address is 127.0.0.1 and its multicast group the
 * layout's random 239.255.x.y on {@code lo} with TTL 0; ports are the layout's free ones.
 */
class SwappedStockBlockTomcatIT {
    /** The how-to's block, className swapped, addresses and ports rewritten for loopback. */
    record SwappedStockBlock(Path jar) implements ClusterConfig {
        @Override
        public String name() {
            return "stock block on flotilla";
        }

        @Override
        public String clusterXml(ClusterLayout layout, int node) {
            return HowToBlock.swapped(layout.multicastAddress(), layout.multicastPort(),
                    layout.nodes().get(node).receiver());
        }

        @Override
        public List<Path> libJars() {
            return List.of(jar);
        }

        @Override
        public Optional<String> unavailable() {
            return ClusterConfig.flotilla(jar, Membership.MULTICAST, 8).unavailable();
        }

        @Override
        public Optional<Pattern> sessionsReceivedLine() {
            return ClusterConfig.flotilla(jar, Membership.MULTICAST, 8).sessionsReceivedLine();
        }
    }

    @ParameterizedTest
    @EnumSource(TomcatLine.class)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void theHowTosBlockWithOnlyItsClassNameChangedFailsOverInARealTomcat(TomcatLine line) throws Exception {
        ClusterConfig config = new SwappedStockBlock(ClusterConfig.dropInJar(line));
        Optional<String> unavailable = config.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "skipped: " + unavailable.orElse(""));

        FailoverScenario.Report report;
        try (TomcatCluster cluster = TomcatCluster.create(line, config, 3,
                StockTomcatClusterIT.workDir())) {
            report = FailoverScenario.run(cluster, FailoverScenario.Settings.small(), System.out);
        }
        System.out.println("SWAPPED STOCK BLOCK " + line + "\n" + report.summary());

        assertEquals(0, report.stickyViolations(), "the balancer sends each session to the node of its route");
        assertEquals(0, report.warmupLost(), "the stock valves were replaced: every increment replicates");
        assertEquals(report.concurrentExpected(), report.concurrentSeen(),
                "concurrent requests on one session lose no update on the node that serves them");
        assertEquals(200, report.badAttributeStatus(), "as with stock, the application's own class replicates "
                + "(allowApplicationClasses, set by the translation): " + report.badAttributeBody());
        assertTrue(report.victimSessions() > 0, "the killed node owned sessions");
        assertEquals(report.victimSessions(), report.failedOver(), "every session of the killed node went on elsewhere");
        assertEquals(0, report.sessionsLostOnKill(), "every session intact after kill -9");
        assertEquals(0, report.errorsOnKill(), "no request failed across the failover (the route valve works)");
        assertEquals(0, report.sessionsLostAfterRestart(), "the restarted node received every session");
    }
}
