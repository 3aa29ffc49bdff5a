package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The harness proven on what exists today: three real Tomcats with the stock cluster ({@code SimpleTcpCluster},
 * {@code DeltaManager}, asynchronous replication, multicast on the loopback interface with TTL 0). It asserts what
 * stock does reliably and prints what it loses, the figures Flotilla's own test is measured against.
 */
class StockTomcatClusterIT {

    @ParameterizedTest
    // Tomcat 9's stock cluster is the same Tribes/DeltaManager code: CI runs one Tomcat 9 scenario, Flotilla's
    // (./demo.sh 9.0 stock shows stock on Tomcat 9).
    @EnumSource(value = TomcatLine.class, names = "TOMCAT_9_0", mode = EnumSource.Mode.EXCLUDE)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void sessionsSurviveKillNineAndTheRestartedNodeReceivesThem(TomcatLine line) throws Exception {
        FailoverScenario.Report report;
        try (TomcatCluster cluster = TomcatCluster.create(line, ClusterConfig.stock(), 3, workDir())) {
            report = FailoverScenario.run(cluster, FailoverScenario.Settings.small(), System.out);
        }
        System.out.println("STOCK " + line + "\n" + report.summary());

        assertEquals(0, report.stickyViolations(), "the balancer sends each session to the node of its route");
        assertEquals(0, report.warmupLost(), "no increment is lost while every node is up");
        assertEquals(report.concurrentExpected(), report.concurrentSeen(),
                "concurrent requests on one session lose no update on the node that serves them");
        assertEquals(200, report.badAttributeStatus(), "stock replicates any Serializable attribute: "
                + report.badAttributeBody());
        assertTrue(report.victimSessions() > 0, "the killed node owned sessions");
        assertEquals(report.victimSessions(), report.failedOver(), "every session of the killed node went on elsewhere");
        assertEquals(0, report.sessionsLostOnKill(), "DeltaManager had every session on every node");
        assertEquals(0, report.sessionsLostAfterRestart(), "the restarted node received every session at start");
    }

    static Path workDir() {
        return Path.of(System.getProperty("e2e.work", "target/e2e"));
    }
}
