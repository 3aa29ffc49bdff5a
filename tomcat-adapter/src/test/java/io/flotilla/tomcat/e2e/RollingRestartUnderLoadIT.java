package io.flotilla.tomcat.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flotilla.testing.Await;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Issue 15's rolling restart: every node of three real Tomcats (10.1, {@code channelSendOptions="6"}) is restarted in
 * turn under load from a round-robin client, as an operator does it: the node is taken out of the balancer (its
 * requests in flight finish), stopped gracefully (SIGTERM: its web application drains, handing the sessions it owns to
 * their next owners), started, and put back once it answers and its state transfer is done.
 *
 * <p>Busy users click all along, each click on the next node in the rotation, so their sessions move with nearly every
 * request (hand-offs); idle users hold sessions that nobody touches during a restart, so those the stopping node owns
 * are there for the drain to hand over; each idle user clicks once after each restart. Every answer must be HTTP 200
 * on the user's session with the count one above the last acknowledged one: zero failed requests, zero sessions lost,
 * no acknowledged increment lost. Each stop must log its drain with nothing left over, and no node may log a take-over
 * (the drained sessions were owned by a live node at once).
 */
class RollingRestartUnderLoadIT {
    private static final int BUSY_USERS = 6;
    private static final int IDLE_USERS = 24;
    /** Requests the busy users must complete while the node is down, and after it is back. */
    private static final int MIN_REQUESTS_PER_WINDOW = 20;
    /** A busy user's pause between two clicks: pacing, so the load leaves CPU for the restarts (not a synchroniser). */
    private static final Duration THINK_TIME = Duration.ofMillis(10);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern DRAINED = Pattern.compile("drained: (\\d+) session\\(s\\) handed over, (\\d+) not");
    private static final Pattern TOOK_OVER = Pattern.compile("took over session");

    @ParameterizedTest(name = "mode={0}")
    @ValueSource(strings = {"all", "backup"})
    @Timeout(value = 6, unit = TimeUnit.MINUTES) // a backstop: each step has its own bound; about 1 min
    void restartingEveryNodeInTurnUnderRoundRobinLoadFailsNoRequestAndLosesNoSession(String mode) throws Exception {
        TomcatLine line = TomcatLine.TOMCAT_10_1;
        ClusterConfig config = ((ClusterConfig.FlotillaClusterConfig) ClusterConfig.flotilla(
                ClusterConfig.dropInJar(line), ClusterConfig.Membership.STATIC, 6)).with("mode=\"" + mode + "\"");
        Optional<String> unavailable = config.unavailable();
        assumeTrue(unavailable.isEmpty(), () -> "Flotilla e2e skipped: " + unavailable.orElse(""));
        long started = System.nanoTime();
        try (TomcatCluster cluster = TomcatCluster.create(line, config, 3, StockTomcatClusterIT.workDir())) {
            cluster.startAll();
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(2)).build();
            RoundRobin lb = new RoundRobin(client, cluster.nodes());
            List<SimulatedUser> idle = new ArrayList<>();
            for (int i = 0; i < IDLE_USERS; i++) {
                idle.add(new SimulatedUser("idle" + (i + 1), i));
            }
            lb.clickAll(idle); // spread over the three nodes by the rotation
            List<SimulatedUser> busy = new ArrayList<>();
            for (int i = 0; i < BUSY_USERS; i++) {
                busy.add(new SimulatedUser("busy" + (i + 1), i));
            }
            List<String> report = new ArrayList<>();
            long handed = 0;
            lb.start(busy);
            try {
                Await.await("every busy user clicks twice", STEP_TIMEOUT,
                        () -> busy.stream().allMatch(u -> u.acked() >= 2), lb::describe);
                for (TomcatNode node : cluster.nodes()) {
                    List<TomcatNode> others = cluster.nodes().stream().filter(n -> n != node).toList();
                    for (TomcatNode o : others) {
                        assertEquals(0, o.countLogLines(TOOK_OVER), o.route() + " took nothing over: "
                                + o.logTail(10));
                    }
                    long t0 = System.nanoTime();
                    lb.takeOut(node); // waits for its requests in flight
                    long t1 = System.nanoTime();
                    node.stop();
                    long t2 = System.nanoTime();
                    Matcher m = lastMatch(node, DRAINED);
                    assertTrue(m != null, node.route() + " logged its drain: " + node.logTail(20));
                    assertEquals("0", m.group(2), node.route() + " handed every session over: " + m.group());
                    handed += Long.parseLong(m.group(1));
                    long down = lb.requests();
                    Await.await(MIN_REQUESTS_PER_WINDOW + " requests while " + node.route() + " is down",
                            STEP_TIMEOUT, () -> lb.requests() >= down + MIN_REQUESTS_PER_WINDOW, lb::describe);
                    cluster.restart(node); // answers HTTP and logged its state transfer done
                    long t3 = System.nanoTime();
                    lb.putBack(node);
                    long back = lb.requests();
                    Await.await(MIN_REQUESTS_PER_WINDOW + " requests after " + node.route() + " is back", STEP_TIMEOUT,
                            () -> lb.requests() >= back + MIN_REQUESTS_PER_WINDOW, lb::describe);
                    lb.clickAll(idle);
                    report.add(String.format("%s: out of rotation in %d ms, stopped in %d ms (drained %s session(s): "
                                    + "%s), out %d ms, %d requests meanwhile", node.route(), ms(t1 - t0), ms(t2 - t1),
                            m.group(1), m.group(), ms(t3 - t0), back - down));
                    for (TomcatNode o : others) {
                        assertEquals(0, o.countLogLines(TOOK_OVER), o.route() + " took nothing over (the drained "
                                + "sessions had a live owner at once): " + o.logTail(10));
                    }
                }
            } finally {
                lb.stop();
            }
            report.forEach(System.out::println);
            List<SimulatedUser> all = new ArrayList<>(busy);
            all.addAll(idle);
            long acked = all.stream().mapToLong(SimulatedUser::acked).sum();
            System.out.printf("ROLLING RESTART %s mode=" + mode + ": 3 nodes restarted in turn in %d s under round robin load; %d "
                            + "requests (%d acknowledged), %d failed; %d sessions drained; %d users%n", line,
                    ms(System.nanoTime() - started) / 1000, lb.requests(), acked, lb.failures.size(), handed,
                    all.size());
            assertEquals(List.of(), List.copyOf(lb.failures), "no request failed");
            for (SimulatedUser u : all) {
                assertEquals(0, u.errors(), u + ": " + u.lastError());
                assertEquals(0, u.sessionsLost(), u + " kept its session");
                assertEquals(0, u.lostIncrements(), u + " lost no acknowledged increment");
            }
            for (SimulatedUser u : idle) {
                assertEquals(4, u.lastCount(), u + " counted once per round");
            }
            assertTrue(handed > 0, "the stops drained sessions: " + handed);
        }
    }

    /** The last line of {@code node}'s console log that {@code p} finds, or null. */
    private static Matcher lastMatch(TomcatNode node, Pattern p) throws IOException {
        Matcher last = null;
        for (String l : Files.readAllLines(node.consoleLog(), StandardCharsets.ISO_8859_1)) {
            Matcher m = p.matcher(l);
            if (m.find()) {
                last = m;
            }
        }
        return last;
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /**
     * A round-robin balancer with the nodes an operator has in it: each request goes to the next node in rotation,
     * whatever its session; a node taken out gets no new request, and {@link #takeOut} returns once its requests in
     * flight finished (a balancer's drain state). Busy users click on their own threads.
     */
    private static final class RoundRobin {
        final HttpClient client;
        final List<TomcatNode> nodes;
        final List<TomcatNode> in;
        final Map<TomcatNode, AtomicInteger> inFlight = new ConcurrentHashMap<>();
        final AtomicInteger next = new AtomicInteger();
        final AtomicLong requests = new AtomicLong();
        final AtomicBoolean stop = new AtomicBoolean();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final List<Future<?>> loops = new ArrayList<>();
        ScheduledExecutorService threads;

        RoundRobin(HttpClient client, List<TomcatNode> nodes) {
            this.client = client;
            this.nodes = nodes;
            this.in = new ArrayList<>(nodes);
            nodes.forEach(n -> inFlight.put(n, new AtomicInteger()));
        }

        /** The next node in rotation, its request counted in flight (under the lock that {@link #takeOut} takes). */
        private synchronized TomcatNode pick() {
            TomcatNode n = in.get(Math.floorMod(next.getAndIncrement(), in.size()));
            inFlight.get(n).incrementAndGet();
            return n;
        }

        void takeOut(TomcatNode node) {
            synchronized (this) {
                in.remove(node);
            }
            Await.await(node.route() + "'s requests in flight finish", STEP_TIMEOUT,
                    () -> inFlight.get(node).get() == 0, this::describe);
        }

        synchronized void putBack(TomcatNode node) {
            in.add(node);
        }

        /** One {@code /counter} for {@code u} on the next node; the answer is booked on the user. */
        void click(SimulatedUser u) {
            TomcatNode node = pick();
            HttpRequest.Builder b = HttpRequest.newBuilder(node.uri("/counter")).timeout(REQUEST_TIMEOUT).GET();
            if (u.sessionId() != null) {
                b.header("Cookie", "JSESSIONID=" + u.sessionId());
            }
            long t = System.nanoTime();
            try {
                HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
                long errors = u.errors();
                long lost = u.lostIncrements() + u.sessionsLost();
                u.counted(r.statusCode(), r.body());
                if (u.errors() > errors || u.lostIncrements() + u.sessionsLost() > lost) {
                    failures.add(u + " at " + node.route() + " (" + ms(System.nanoTime() - t) + " ms): HTTP "
                            + r.statusCode() + " " + r.body().substring(0, Math.min(200, r.body().length())));
                }
            } catch (IOException e) {
                u.counted(0, e.toString());
                failures.add(u + " at " + node.route() + ": " + e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inFlight.get(node).decrementAndGet();
                requests.incrementAndGet();
            }
        }

        /** Each of {@code users} clicks once, on the test's thread. */
        void clickAll(List<SimulatedUser> users) {
            users.forEach(this::click);
        }

        /** Busy users click on their own threads, {@code THINK_TIME} after each answer, until {@link #stop}. */
        void start(List<SimulatedUser> users) {
            threads = Executors.newScheduledThreadPool(users.size());
            for (SimulatedUser u : users) {
                loops.add(threads.scheduleWithFixedDelay(() -> {
                    if (!stop.get()) {
                        click(u);
                    }
                }, 0, THINK_TIME.toNanos(), TimeUnit.NANOSECONDS));
            }
        }

        long requests() {
            return requests.get();
        }

        void stop() throws InterruptedException {
            stop.set(true);
            loops.forEach(f -> f.cancel(false));
            if (threads != null) {
                threads.shutdown();
                if (!threads.awaitTermination(REQUEST_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS)) {
                    threads.shutdownNow();
                }
            }
        }

        synchronized String describe() {
            return requests.get() + " requests, " + failures.size() + " failed" + (failures.isEmpty() ? ""
                    : " (first: " + failures.peek() + ")") + "; in rotation: " + in.stream().map(TomcatNode::route)
                    .toList();
        }
    }
}
