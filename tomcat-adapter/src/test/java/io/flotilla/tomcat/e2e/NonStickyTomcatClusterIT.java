package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 15's any-node access on real Tomcat 10.1 (one line keeps it lean; the adapter code is the same on every
 * line): three nodes with {@code channelSendOptions="6"} behind a round-robin client, so nearly every request of a
 * user lands on another node than its last one and moves the session there (a hand-off from its live owner). Users
 * click concurrently; midway the node that served most recently is killed with {@code kill -9}. Every answer is
 * checked against the user's last acknowledged count: no acknowledged increment lost, no session replaced by a new
 * one. With {@code mode="backup"} the third node holds no copy of a session it did not own: a request there takes it
 * from its owner, and after the kill the survivors' copies are where placement says. It found that the holders lacked the access time a moved session carried (recorded after each request's
 * replication), so the new owner's first delta, with its jvmRoute rename, waited for a full copy there and the next
 * request on that node found no session under the new id (1 run in 3): {@code HandoffTest} now pins the fix.
 */
class NonStickyTomcatClusterIT {
    private static final int USERS = 6;
    private static final int CLICKS_BEFORE = 8;
    private static final int CLICKS_AFTER = 8;

    @ParameterizedTest(name = "mode={0}")
    @ValueSource(strings = {"all", "backup"})
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void roundRobinRequestsLoseNoIncrementAndNoSessionAcrossKillNine(String mode) throws Exception {
        TomcatLine line = TomcatLine.TOMCAT_10_1;
        ClusterConfig config = ((ClusterConfig.FlotillaClusterConfig) ClusterConfig.flotilla(
                ClusterConfig.dropInJar(line), ClusterConfig.Membership.STATIC, 6)).with("mode=\"" + mode + "\"");
        Optional<String> unavailable = config.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "Flotilla e2e skipped: " + unavailable.orElse(""));
        try (TomcatCluster cluster = TomcatCluster.create(line, config, 3, StockTomcatClusterIT.workDir())) {
            cluster.startAll();
            StickyBalancer lb = StickyBalancer.roundRobin(cluster);
            List<SimulatedUser> users = new ArrayList<>();
            for (int i = 0; i < USERS; i++) {
                users.add(new SimulatedUser("user" + (i + 1), i));
            }
            clickAll(lb, users, CLICKS_BEFORE);
            for (SimulatedUser u : users) {
                assertEquals(CLICKS_BEFORE, u.lastCount(), u + ": every click counted, on whichever node: "
                        + u.lastError());
                assertEquals(0, u.errors(), u + ": " + u.lastError());
            }
            TomcatNode victim = cluster.node(0);
            victim.kill9();
            clickAll(lb, users, CLICKS_AFTER);
            long moved = 0;
            for (SimulatedUser u : users) {
                assertEquals(0, u.sessionsLost(), u + " kept its session");
                assertEquals(0, u.lostIncrements(), u + " lost no acknowledged increment");
                assertTrue(u.lastCount() >= CLICKS_BEFORE + CLICKS_AFTER - u.errors(), u + " went on counting");
                moved += u.acked();
            }
            int errors = users.stream().mapToInt(SimulatedUser::errors).sum();
            System.out.println("NON-STICKY " + line + " mode=" + mode + ": " + USERS + " users, " + moved + " acknowledged clicks "
                    + "round robin over 3 nodes (" + victim.route() + " killed midway), " + errors
                    + " failed with an error, 0 increments and 0 sessions lost");
            assertTrue(errors <= USERS, "at most the clicks in flight at the kill failed: " + errors);
        }
    }

    /** Each user clicks {@code clicks} times (one thread per user, users concurrent), until acknowledged or 3 tries. */
    private static void clickAll(StickyBalancer lb, List<SimulatedUser> users, int clicks) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(users.size());
        AtomicBoolean failed = new AtomicBoolean();
        try {
            List<Future<?>> all = new ArrayList<>();
            for (SimulatedUser u : users) {
                all.add(threads.submit(() -> {
                    for (int i = 0; i < clicks && !failed.get(); i++) {
                        long before = u.acked();
                        for (int attempt = 0; attempt < 3 && u.acked() == before; attempt++) {
                            try {
                                lb.increment(u);
                            } catch (IOException e) {
                                failed.set(true);
                                throw new IllegalStateException(u + ": no node answered", e);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(2, TimeUnit.MINUTES);
            }
        } finally {
            threads.shutdownNow();
        }
    }
}
