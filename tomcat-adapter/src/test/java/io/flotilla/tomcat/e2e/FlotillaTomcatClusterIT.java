package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What issue 5 asks of Flotilla in real Tomcat 10.1 and 11.0, and issue 14 in Tomcat 9 (with the javax build
 * {@code flotilla-tomcat9}): the drop-in jar in each {@code CATALINA_BASE/lib}, a
 * {@code FlotillaCluster} with static members on 127.0.0.1 and {@code channelSendOptions="6"} (PROCESSED), the same
 * story as {@link StockTomcatClusterIT}, and no acknowledged increment or session lost anywhere in it. Skipped, with
 * the reason, until {@code io.flotilla.tomcat.FlotillaCluster} is in the jar; then it runs with the build. Each node's
 * log must show the receiver on Netty's native epoll transport, asked for with {@code nativeTransport="true"} (the
 * drop-in jar carries the library renamed for its relocated Netty; NIO is the default).
 */
class FlotillaTomcatClusterIT {

    @ParameterizedTest
    @EnumSource(TomcatLine.class)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void everySessionAndAcknowledgedIncrementSurvivesKillNineAndRestart(TomcatLine line) throws Exception {
        ClusterConfig config = ((ClusterConfig.FlotillaClusterConfig) ClusterConfig.flotilla(
                ClusterConfig.dropInJar(line), ClusterConfig.Membership.STATIC, 6)).with("nativeTransport=\"true\"");
        Optional<String> unavailable = config.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "Flotilla e2e skipped: " + unavailable.orElse(""));

        FailoverScenario.Report report;
        try (TomcatCluster cluster = TomcatCluster.create(line, config, 3, StockTomcatClusterIT.workDir())) {
            report = FailoverScenario.run(cluster, FailoverScenario.Settings.small(), System.out);
            for (int i = 0; i < 3; i++) {
                // The drop-in jar carries Netty's epoll library renamed for its relocated Netty: it loads in Tomcat.
                String log = Files.readString(cluster.node(i).consoleLog().resolveSibling("console-1.log"),
                        StandardCharsets.ISO_8859_1);
                assertTrue(log.contains("receiver bound to 127.0.0.1:") && log.contains("(epoll)"),
                        "node " + (i + 1) + " runs Netty's native epoll transport: " + cluster.node(i).logTail(40));
            }
        }
        System.out.println("FLOTILLA " + line + "\n" + report.summary());

        assertEquals(0, report.stickyViolations(), "the balancer sends each session to the node of its route");
        assertEquals(0, report.warmupLost(), "no increment is lost while every node is up");
        assertEquals(report.concurrentExpected(), report.concurrentSeen(),
                "concurrent requests on one session lose no update on the node that serves them");
        assertEquals(500, report.badAttributeStatus(),
                "a non-allowlisted attribute class is refused: " + report.badAttributeBody());
        assertTrue(report.badAttributeBody().contains("NotAllowedAttribute"),
                "the error names the refused class: " + report.badAttributeBody());
        assertTrue(report.victimSessions() > 0, "the killed node owned sessions");
        assertEquals(report.victimSessions(), report.failedOver(), "every session of the killed node went on elsewhere");
        assertEquals(0, report.sessionsLostOnKill(), "every session intact after kill -9");
        assertEquals(0, report.lostOnKill(), "with PROCESSED replication no acknowledged increment is lost");
        assertEquals(0, report.errorsOnKill(), "no request failed across the failover");
        assertEquals(0, report.sessionsLostAfterRestart(), "the restarted node received every session");
        assertEquals(0, report.lostAfterRestart(), "and every acknowledged increment of them");
        assertEquals(0, report.errorsAfterRestart(), "and served them without errors");
    }
}
