package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.testing.Await;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 12's real-Tomcat restart proof: restarts of one node under {@code channelSendOptions="6"} (PROCESSED, with
 * {@code failRequestOnReplicationError} at its default {@code true}) fail no request on the other nodes.
 *
 * <p>Three real Tomcats with {@code FlotillaCluster} (static members on 127.0.0.1) and the counter webapp. Users
 * pinned to node1 and node2 (sent straight to their node, no balancer) click steadily; each answer must be HTTP 200
 * from that node, on the same session, with the count one above the user's last. Meanwhile node3 is stopped
 * gracefully (SIGTERM) and started three times, then killed with {@code kill -9} and started three times. Each
 * restart has two windows: node3 down (until node1 and node2 logged its departure) and node3 rejoining (until it
 * answers HTTP, logged its state transfer done, and node1 and node2 logged its join). In every window the load must
 * have completed some requests, so a window in which requests hang would show; any failed request (non-200, a wrong
 * count, another session, a connection error or timeout) on node1 or node2 over the whole run fails the test. Per
 * restart it prints the requests completed and the slowest one of each window.
 *
 * <p>Then node3 must really be a replica holder after its last rejoin: node1 is killed ({@code kill -9}) and its
 * users go to node3, node2 is killed and its users go to node3 too, which is then alone: every session must go on
 * there with its count intact.
 *
 * <p>It found that each graceful stop failed a few requests on node1 with HTTP 500 ({@code no listener for topic 240}:
 * node3's web application had stopped before its {@code UNREADY} reached node1); {@code ClosingTargetTest} in core
 * covers the fix.
 *
 * <p>{@code -De2e.restarts=25} makes it a soak of 25 restarts of each kind (issue 12 counted failures over 50).
 *
 * <p>One Tomcat line (10.1) only: restarts exercise the engine's membership, readiness and transfer, which do not
 * differ between Tomcat lines (the adapter's per-line differences are covered by {@link FlotillaTomcatClusterIT} on
 * every line), and one line keeps this under three minutes on a shared two-core machine.
 */
class NodeRestartUnderLoadIT {
    private static final int USERS_PER_NODE = 3;
    /** Restarts of each kind: 3, or the system property {@code e2e.restarts} for a soak. */
    private static final int RESTARTS_EACH = Integer.getInteger("e2e.restarts", 3);
    private static final int GRACEFUL_RESTARTS = RESTARTS_EACH;
    private static final int KILL_RESTARTS = RESTARTS_EACH;
    /** Requests the load must complete on node1/node2 in each window (down, rejoining). */
    private static final int MIN_REQUESTS_PER_WINDOW = 10;
    /** A user's pause between two clicks: pacing, so the load leaves CPU for node3's restarts (not a synchroniser). */
    private static final Duration THINK_TIME = Duration.ofMillis(10);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES) // a backstop: each step has its own bound; about 1 min by default
    void restartsOfOneNodeUnderProcessedLoadFailNoRequestOnTheOthers() throws Exception {
        TomcatLine line = TomcatLine.TOMCAT_10_1;
        ClusterConfig config = ClusterConfig.flotilla(ClusterConfig.dropInJar(line), ClusterConfig.Membership.STATIC,
                6);
        Optional<String> unavailable = config.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "Flotilla e2e skipped: " + unavailable.orElse(""));

        long started = System.nanoTime();
        try (TomcatCluster cluster = TomcatCluster.create(line, config, 3, StockTomcatClusterIT.workDir())) {
            cluster.startAll();
            TomcatNode node1 = cluster.node(0);
            TomcatNode node2 = cluster.node(1);
            TomcatNode node3 = cluster.node(2);
            // membership's ViewKeeper logs "Member joined: node3@127.0.0.1:<port>/<id>; View#..." (left, removed).
            String node3Member = "\\S+@127\\.0\\.0\\.1:" + cluster.layout().nodes().get(2).receiver() + "/";
            Pattern node3Joined = Pattern.compile("Member joined: " + node3Member);
            Pattern node3Gone = Pattern.compile("Member (left|removed as failed \\(.*\\)): " + node3Member);
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(2)).build();

            List<User> users = new ArrayList<>();
            for (int i = 0; i < USERS_PER_NODE; i++) {
                users.add(new User("user1-" + (i + 1), node1));
                users.add(new User("user2-" + (i + 1), node2));
            }
            Load load = new Load(client, users);
            List<String> report = new ArrayList<>();
            load.start(new Window("warm-up"));
            try {
                Await.await("every user clicks twice", STEP_TIMEOUT, () -> users.stream().allMatch(u -> u.count >= 2),
                        load::describe);
                for (int r = 1; r <= GRACEFUL_RESTARTS + KILL_RESTARTS; r++) {
                    boolean kill = r > GRACEFUL_RESTARTS;
                    String how = kill ? "kill -9" : "graceful stop";
                    long gone1 = node1.countLogLines(node3Gone);
                    long gone2 = node2.countLogLines(node3Gone);
                    long joined1 = node1.countLogLines(node3Joined);
                    long joined2 = node2.countLogLines(node3Joined);

                    Window down = load.next(new Window("restart " + r + " (" + how + "): node3 down"));
                    long t0 = System.nanoTime();
                    if (kill) {
                        node3.kill9();
                    } else {
                        node3.stop();
                    }
                    Await.await("node1 and node2 see node3 leave", STEP_TIMEOUT,
                            () -> node1.countLogLines(node3Gone) > gone1 && node2.countLogLines(node3Gone) > gone2,
                            () -> node1.logTail(5) + "\n" + node2.logTail(5));
                    Await.await(MIN_REQUESTS_PER_WINDOW + " requests while node3 is down", STEP_TIMEOUT,
                            () -> down.completed() >= MIN_REQUESTS_PER_WINDOW, load::describe);

                    Window rejoin = load.next(new Window("restart " + r + " (" + how + "): node3 rejoining"));
                    long t1 = System.nanoTime();
                    cluster.restart(node3); // answers HTTP and logged its state transfer done
                    Await.await("node1 and node2 see node3 join", STEP_TIMEOUT,
                            () -> node1.countLogLines(node3Joined) > joined1
                                    && node2.countLogLines(node3Joined) > joined2,
                            () -> node1.logTail(5) + "\n" + node2.logTail(5));
                    long t2 = System.nanoTime();
                    Window after = load.next(new Window("restart " + r + ": after"));
                    report.add(String.format("restart %d %-13s down %5d ms: %4d requests, max %4d ms | rejoin %5d ms:"
                                    + " %4d requests, max %4d ms", r, how, ms(t1 - t0), down.completed(),
                            down.maxMillis(), ms(t2 - t1), rejoin.completed(), rejoin.maxMillis()));
                    System.out.println(report.get(report.size() - 1));
                    assertTrue(rejoin.completed() >= MIN_REQUESTS_PER_WINDOW, () -> "load stalled while node3 "
                            + "rejoined: " + rejoin.completed() + " requests; " + load.describe());
                    // Every session is written again after the join, so node3 holds it at its latest version.
                    Await.await("every user clicks after node3 rejoined", STEP_TIMEOUT,
                            () -> after.completed() >= 2L * users.size() && users.stream().allMatch(
                                    u -> u.lastAt > t2), load::describe);
                }
            } finally {
                load.stop();
            }
            System.out.println("load: " + load.describe());
            assertEquals(List.of(), List.copyOf(load.failures),
                    "no request on node1 or node2 failed while node3 restarted");

            // node3 holds every session: node1 dies, its users go on at node3; node2 dies, node3 serves everyone.
            List<String> afterKills = new ArrayList<>();
            node1.kill9();
            for (User u : users) {
                if (u.node == node1) {
                    u.node = node3;
                    afterKills.addAll(u.click(client));
                }
            }
            node2.kill9();
            for (User u : users) {
                u.node = node3;
                afterKills.addAll(u.click(client));
            }
            System.out.println("node3 alone served " + users.size() + " sessions: " + users);
            System.out.println(String.join(System.lineSeparator(), report));
            System.out.printf("%d restarts of node3 under load in %d s; failed requests on node1/node2: %d of %d%n",
                    GRACEFUL_RESTARTS + KILL_RESTARTS, ms(System.nanoTime() - started) / 1000, load.failures.size(),
                    load.requests.get());
            assertEquals(List.of(), afterKills, "node3 had every session at its acknowledged count");
        }
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** Requests completed and the slowest one, booked to the window in which each request ended. */
    private static final class Window {
        final String name;
        final AtomicLong completed = new AtomicLong();
        final AtomicLong maxNanos = new AtomicLong();

        Window(String name) {
            this.name = name;
        }

        void book(long nanos) {
            completed.incrementAndGet();
            maxNanos.accumulateAndGet(nanos, Math::max);
        }

        long completed() {
            return completed.get();
        }

        long maxMillis() {
            return ms(maxNanos.get());
        }
    }

    /** One browser pinned to one node: its cookie and the count its last answer acknowledged. */
    private static final class User {
        final String name;
        volatile TomcatNode node;
        volatile String sessionId;
        volatile int count;
        volatile long lastAt;
        /** The last request failed (its own problem already booked). */
        private boolean unacknowledged;

        User(String name, TomcatNode node) {
            this.name = name;
            this.node = node;
        }

        /** One {@code /counter}: the problems with its answer, empty when it is the expected next count. */
        List<String> click(HttpClient client) {
            HttpRequest.Builder b = HttpRequest.newBuilder(node.uri("/counter")).timeout(REQUEST_TIMEOUT).GET();
            if (sessionId != null) {
                b.header("Cookie", "JSESSIONID=" + sessionId);
            }
            HttpResponse<String> r;
            try {
                r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                unacknowledged = true;
                return List.of(this + " at " + node.route() + ": " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of(this + " interrupted");
            }
            Matcher m = SimulatedUser.parse(r.body());
            if (r.statusCode() != 200 || m == null) {
                unacknowledged = true;
                return List.of(this + " at " + node.route() + ": HTTP " + r.statusCode() + " "
                        + r.body().substring(0, Math.min(300, r.body().length())));
            }
            List<String> problems = new ArrayList<>();
            int got = Integer.parseInt(m.group(2));
            if (!m.group(1).equals(node.route())) {
                problems.add(this + ": answered by " + m.group(1) + ", sent to " + node.route());
            }
            if (sessionId != null && !SimulatedUser.base(m.group(3)).equals(SimulatedUser.base(sessionId))) {
                problems.add(this + " at " + node.route() + ": another session " + m.group(3));
            }
            // After a failed answer its increment may or may not have been kept: one more is not a loss.
            if (got != count + 1 && !(unacknowledged && got == count + 2)) {
                problems.add(this + " at " + node.route() + ": count " + got + ", expected " + (count + 1));
            }
            unacknowledged = false;
            sessionId = m.group(3);
            count = got;
            lastAt = System.nanoTime();
            return problems;
        }

        @Override
        public String toString() {
            return name + "(count " + count + ")";
        }
    }

    /**
     * One thread per user, clicking until stopped, each click {@code THINK_TIME} after the previous answer (a fixed
     * delay on a scheduler: pacing, not waiting for anything); every answer booked to the current window.
     */
    private static final class Load {
        final HttpClient client;
        final List<User> users;
        final AtomicReference<Window> window = new AtomicReference<>();
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong requests = new AtomicLong();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final ScheduledExecutorService threads;
        final List<Future<?>> loops = new ArrayList<>();

        Load(HttpClient client, List<User> users) {
            this.client = client;
            this.users = users;
            this.threads = Executors.newScheduledThreadPool(users.size());
        }

        void start(Window first) {
            window.set(first);
            for (User u : users) {
                loops.add(threads.scheduleWithFixedDelay(() -> click(u), 0, THINK_TIME.toNanos(),
                        TimeUnit.NANOSECONDS));
            }
        }

        /** Books what completes from now on to {@code w}; returns it. */
        Window next(Window w) {
            window.set(w);
            return w;
        }

        private void click(User u) {
            if (stop.get()) {
                return;
            }
            long t = System.nanoTime();
            List<String> problems = u.click(client);
            long took = System.nanoTime() - t;
            Window w = window.get();
            w.book(took);
            requests.incrementAndGet();
            for (String p : problems) {
                failures.add(w.name + ": " + p + " (" + ms(took) + " ms)");
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            for (Future<?> f : loops) {
                f.cancel(false); // a periodic task ends only when cancelled; a click in progress finishes
            }
            threads.shutdown();
            if (!threads.awaitTermination(REQUEST_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS)) {
                threads.shutdownNow();
            }
            for (Future<?> f : loops) {
                if (f.isDone() && !f.isCancelled()) { // a periodic task done before its cancel threw
                    try {
                        f.get();
                    } catch (ExecutionException e) {
                        failures.add("a load thread failed: " + e.getCause());
                    }
                }
            }
        }

        String describe() {
            Window w = window.get();
            return requests.get() + " requests, " + failures.size() + " failed" + (failures.isEmpty() ? ""
                    : " (first: " + failures.peek() + ")") + "; " + w.name + ": " + w.completed() + " requests; "
                    + users;
        }
    }
}
