package io.flotilla.tomcat.e2e;

import io.flotilla.testing.Await;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The story the end-to-end tests and {@code ./demo.sh tomcat} tell with a {@link TomcatCluster}, whichever
 * {@link ClusterConfig} it runs: sessions made and counted sticky on every node; concurrent requests on one session;
 * an attribute of a class no allowlist names; {@code kill -9} of the first node while users keep clicking; the
 * requests going on elsewhere; the killed node restarting; then every other node killed, so each session's next
 * request can only be served by the restarted node from what it received. It measures; the caller asserts.
 *
 * <p>Threading: {@link #run} is called from one thread and starts its own load threads, all stopped before it
 * returns.
 */
public final class FailoverScenario {
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

    private FailoverScenario() {
    }

    /**
     * How much to do; small so two cores run a whole scenario in well under a minute per Tomcat line.
     *
     * @param users simulated users, spread round robin over the nodes
     * @param warmupIncrements sticky increments per user before anything else
     * @param concurrentThreads threads sending at once on one session
     * @param concurrentPerThread requests per such thread
     * @param loadThreads threads clicking for the users during the kill
     * @param incrementsAfterKill acknowledged increments every user must make after the kill before load stops
     */
    public record Settings(int users, int warmupIncrements, int concurrentThreads, int concurrentPerThread,
                           int loadThreads, int incrementsAfterKill) {
        /** 12 users, 3 warm-up increments, 4 x 20 concurrent requests, 3 load threads, 3 increments after the kill. */
        public static Settings small() {
            return new Settings(12, 3, 4, 20, 3, 3);
        }
    }

    /**
     * What happened.
     *
     * @param users users (sessions) counted
     * @param victim the node killed and restarted
     * @param victimSessions sessions whose route was the victim at the kill
     * @param stickyViolations warm-up answers served by a node other than the session's route
     * @param warmupLost acknowledged increments lost before any failure (must be 0 on any working cluster)
     * @param concurrentExpected the count one session should reach after the concurrent requests
     * @param concurrentSeen the count it had
     * @param badAttributeStatus HTTP status of {@code /set-bad}
     * @param badAttributeBody its body
     * @param ackedAtKill acknowledged increments of all users when the victim was killed
     * @param lostOnKill acknowledged increments lost across the kill
     * @param sessionsLostOnKill sessions that came back empty (a new id) after the kill
     * @param errorsOnKill requests answered with an error or by no node during the load
     * @param failedOver victim sessions served afterwards by another node
     * @param lostAfterRestart acknowledged increments lost when only the restarted node was left
     * @param sessionsLostAfterRestart sessions it did not have
     * @param errorsAfterRestart requests it answered with an error
     * @param elapsed wall time of the whole story
     */
    public record Report(int users, String victim, int victimSessions, int stickyViolations, long warmupLost,
                         int concurrentExpected, int concurrentSeen, int badAttributeStatus, String badAttributeBody,
                         long ackedAtKill, long lostOnKill, int sessionsLostOnKill, int errorsOnKill, int failedOver,
                         long lostAfterRestart, int sessionsLostAfterRestart, int errorsAfterRestart,
                         Duration elapsed) {
        /** A few lines for a person. */
        public String summary() {
            return String.join(System.lineSeparator(),
                    "sessions: " + users + " (" + victimSessions + " on " + victim + " when it was killed)",
                    "sticky before the kill: " + (stickyViolations == 0 ? "yes" : stickyViolations + " answers off-route")
                            + ", increments lost without failures: " + warmupLost,
                    "concurrent requests on one session: count " + concurrentSeen + " of " + concurrentExpected,
                    "non-allowlisted attribute: HTTP " + badAttributeStatus + " " + badAttributeBody,
                    "kill -9 " + victim + " under load: " + failedOver + "/" + victimSessions
                            + " of its sessions went on elsewhere; acknowledged increments lost " + lostOnKill + " of "
                            + ackedAtKill + "; sessions lost " + sessionsLostOnKill + "; errors " + errorsOnKill,
                    victim + " restarted, then every other node killed: sessions lost " + sessionsLostAfterRestart
                            + ", increments lost " + lostAfterRestart + ", errors " + errorsAfterRestart,
                    "elapsed " + elapsed.toSeconds() + " s");
        }
    }

    /** Runs the story with the routing client in this JVM ({@link StickyBalancer}) in front. */
    public static Report run(TomcatCluster cluster, Settings s, PrintStream out) throws IOException, InterruptedException {
        try (StickyBalancer lb = new StickyBalancer(cluster)) {
            return run(cluster, lb, s, out);
        }
    }

    /**
     * Runs the story on {@code cluster} (started here, at least two nodes), the users' requests going through
     * {@code lb}; {@code out} gets one line per step.
     */
    public static Report run(TomcatCluster cluster, Balancer lb, Settings s, PrintStream out)
            throws IOException, InterruptedException {
        long started = System.nanoTime();
        List<TomcatNode> nodes = cluster.nodes();
        TomcatNode victim = nodes.get(0);
        StickyBalancer direct = new StickyBalancer(cluster); // requests to one chosen node, past the balancer

        out.printf("starting %d %s nodes (%s cluster) on 127.0.0.1%n", nodes.size(), cluster.line(), cluster.config().name());
        cluster.startAll();
        for (TomcatNode n : nodes) {
            out.printf("  %s up: http://127.0.0.1:%d/app/counter, PID %d%n", n.route(), n.httpPort(), n.pid());
        }

        List<SimulatedUser> users = new ArrayList<>();
        for (int i = 0; i < s.users(); i++) {
            users.add(new SimulatedUser("user" + (i + 1), i));
        }
        int sticky = 0;
        for (int round = 0; round < s.warmupIncrements(); round++) {
            for (SimulatedUser u : users) {
                Balancer.Reply r = lb.increment(u);
                if (!r.node().route().equals(u.route())) {
                    sticky++;
                }
            }
        }
        long warmupLost = lost(users);
        out.printf("%d sessions made, %d sticky increments each%n", users.size(), s.warmupIncrements());

        // Concurrent requests on one session of the node that will be killed: its serving node must lose nothing, and
        // the failover later shows whether the replicas got every one of them.
        SimulatedUser busy = users.get(0);
        TomcatNode busyNode = nodes.stream().filter(n -> n.route().equals(busy.route())).findFirst()
                .orElseThrow(() -> new IllegalStateException(busy + " has no node's route"));
        int expected = busy.lastCount() + concurrent(direct, busyNode, busy, s);
        int seen = count(direct.direct(busyNode, busy, "/get").body());
        busy.resync(seen);
        out.printf("%d concurrent requests on %s's session at %s: count %d, expected %d%n",
                s.concurrentThreads() * s.concurrentPerThread(), busy.name(), busyNode.route(), seen, expected);

        SimulatedUser bad = new SimulatedUser("bad-attribute-user", 1);
        Balancer.Reply badReply = lb.send(bad, "/set-bad");
        out.printf("a non-allowlisted attribute class: HTTP %d %s%n", badReply.status(), badReply.body());

        // Load, kill -9, load goes on.
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger loadErrors = new AtomicInteger();
        ExecutorService load = Executors.newFixedThreadPool(s.loadThreads());
        List<Future<?>> loops = new ArrayList<>();
        long ackedAtKill;
        long lostBefore = lost(users);
        int sessionsLostBefore = sessionsLost(users);
        int errorsBefore = errors(users);
        List<SimulatedUser> onVictim = new ArrayList<>();
        try {
            for (int t = 0; t < s.loadThreads(); t++) {
                List<SimulatedUser> mine = new ArrayList<>();
                for (int i = t; i < users.size(); i += s.loadThreads()) {
                    mine.add(users.get(i));
                }
                loops.add(load.submit(() -> clickUntil(stop, lb, mine, loadErrors)));
            }
            long[] floor = users.stream().mapToLong(SimulatedUser::acked).toArray();
            Await.await("every user clicks twice under load", STEP_TIMEOUT,
                    () -> allAbove(users, floor, 2), () -> "load errors " + loadErrors.get());
            for (SimulatedUser u : users) {
                if (victim.route().equals(u.route())) {
                    onVictim.add(u);
                }
            }
            ackedAtKill = users.stream().mapToLong(SimulatedUser::acked).sum();
            out.printf("kill -9 %s (PID %d) under load; it holds %d sessions%n", victim.route(), victim.pid(),
                    onVictim.size());
            victim.kill9();
            long[] atKill = users.stream().mapToLong(SimulatedUser::acked).toArray();
            Await.await("every user clicks " + s.incrementsAfterKill() + " times after the kill", STEP_TIMEOUT,
                    () -> allAbove(users, atKill, s.incrementsAfterKill()), () -> "load errors " + loadErrors.get());
        } finally {
            stop.set(true);
            load.shutdown();
            if (!load.awaitTermination(30, TimeUnit.SECONDS)) {
                load.shutdownNow();
            }
        }
        for (Future<?> f : loops) {
            if (f.isDone() && !f.isCancelled()) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    throw new IllegalStateException("a load thread failed", e.getCause());
                }
            }
        }
        int failedOver = (int) onVictim.stream().filter(u -> u.lastServedBy() != null
                && !u.lastServedBy().equals(victim.route())).count();
        long lostOnKill = lost(users) - lostBefore;
        int sessionsLostOnKill = sessionsLost(users) - sessionsLostBefore;
        int errorsOnKill = errors(users) - errorsBefore + loadErrors.get();
        out.printf("requests went on: %d/%d of %s's sessions served elsewhere, acknowledged increments lost %d, "
                + "sessions lost %d, errors %d%n", failedOver, onVictim.size(), victim.route(), lostOnKill,
                sessionsLostOnKill, errorsOnKill);

        out.printf("restarting %s%n", victim.route());
        cluster.restart(victim);
        out.printf("  %s rejoined (PID %d); killing every other node so only it can answer%n", victim.route(), victim.pid());
        for (TomcatNode n : nodes) {
            if (n != victim) {
                n.kill9();
            }
        }
        lb.awaitRoutingTo(List.of(victim));
        long lostBeforeRestart = lost(users);
        int sessionsBeforeRestart = sessionsLost(users);
        int errorsBeforeRestart = errors(users);
        for (SimulatedUser u : users) {
            lb.increment(u);
        }
        long lostAfterRestart = lost(users) - lostBeforeRestart;
        int sessionsLostAfterRestart = sessionsLost(users) - sessionsBeforeRestart;
        int errorsAfterRestart = errors(users) - errorsBeforeRestart;
        out.printf("  %s served all %d sessions: sessions lost %d, increments lost %d, errors %d%n", victim.route(),
                users.size(), sessionsLostAfterRestart, lostAfterRestart, errorsAfterRestart);
        return new Report(users.size(), victim.route(), onVictim.size(), sticky, warmupLost, expected, seen,
                badReply.status(), badReply.body(), ackedAtKill, lostOnKill, sessionsLostOnKill, errorsOnKill,
                failedOver, lostAfterRestart, sessionsLostAfterRestart, errorsAfterRestart,
                Duration.ofNanos(System.nanoTime() - started));
    }

    /** Sends the concurrent requests; returns how many were acknowledged. */
    private static int concurrent(StickyBalancer lb, TomcatNode node, SimulatedUser user, Settings s)
            throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(s.concurrentThreads());
        AtomicInteger ok = new AtomicInteger();
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int t = 0; t < s.concurrentThreads(); t++) {
                all.add(pool.submit(() -> {
                    for (int i = 0; i < s.concurrentPerThread(); i++) {
                        try {
                            if (lb.direct(node, user, "/counter").status() == 200) {
                                ok.incrementAndGet();
                            }
                        } catch (IOException e) {
                            return; // counted as not acknowledged
                        }
                    }
                }));
            }
            for (Future<?> f : all) {
                try {
                    f.get(STEP_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    throw new IllegalStateException("concurrent requests did not finish", e);
                }
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
        return ok.get();
    }

    private static void clickUntil(AtomicBoolean stop, Balancer lb, List<SimulatedUser> mine, AtomicInteger errors) {
        // Bounded: at most 10,000 rounds, far more than the awaited clicks need.
        for (int round = 0; round < 10_000 && !stop.get(); round++) {
            for (SimulatedUser u : mine) {
                try {
                    lb.increment(u);
                } catch (IOException e) {
                    errors.incrementAndGet();
                }
            }
        }
    }

    private static boolean allAbove(List<SimulatedUser> users, long[] floor, int clicks) {
        for (int i = 0; i < users.size(); i++) {
            if (users.get(i).acked() < floor[i] + clicks) {
                return false;
            }
        }
        return true;
    }

    private static long lost(List<SimulatedUser> users) {
        return users.stream().mapToLong(SimulatedUser::lostIncrements).sum();
    }

    private static int sessionsLost(List<SimulatedUser> users) {
        return users.stream().mapToInt(SimulatedUser::sessionsLost).sum();
    }

    private static int errors(List<SimulatedUser> users) {
        return users.stream().mapToInt(SimulatedUser::errors).sum();
    }

    private static int count(String body) {
        var m = SimulatedUser.parse(body);
        if (m == null) {
            throw new IllegalStateException("not a counter answer: " + body);
        }
        return Integer.parseInt(m.group(2));
    }
}
