package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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
 * the reason, until {@code io.flotilla.tomcat.FlotillaCluster} is in the jar; then it runs with the build.
 */
class FlotillaTomcatClusterIT {

    @ParameterizedTest
    @EnumSource(TomcatLine.class)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void everySessionAndAcknowledgedIncrementSurvivesKillNineAndRestart(TomcatLine line) throws Exception {
        ClusterConfig config = ClusterConfig.flotilla(ClusterConfig.dropInJar(line), ClusterConfig.Membership.STATIC,
                6);
        Optional<String> unavailable = config.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "Flotilla e2e skipped: " + unavailable.orElse(""));

        FailoverScenario.Report report;
        try (TomcatCluster cluster = TomcatCluster.create(line, config, 3, StockTomcatClusterIT.workDir())) {
            report = FailoverScenario.run(cluster, FailoverScenario.Settings.small(), System.out);
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
