package io.flotilla.bench;

import io.flotilla.tomcat.BenchReplicas;
import io.flotilla.tomcat.FlotillaCluster;
import io.micrometer.core.instrument.Counter;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.Manager;
import org.apache.catalina.Session;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.ha.session.DeltaManager;
import org.apache.catalina.ha.tcp.SimpleTcpCluster;
import org.apache.catalina.session.StandardSession;
import org.apache.catalina.tribes.ChannelMessage;
import org.apache.catalina.tribes.group.ChannelInterceptorBase;
import org.apache.catalina.tribes.group.GroupChannel;
import org.apache.catalina.tribes.io.ChannelData;
import org.apache.catalina.tribes.io.XByteBuffer;
import org.apache.catalina.valves.ValveBase;

/**
 * One node of {@link StateTransferHarness}, in its own JVM: a {@link BenchTomcat} (async send options, Tomcat's
 * default) that either owns the sessions or joins and receives them.
 *
 * <p>Usage: {@code java -Xmx1g -Djava.net.preferIPv4Stack=true -cp harness.jar io.flotilla.bench.StateTransferNode
 * key=value ...} with {@code role} ({@code owner} or {@code joiner}), {@code impl} ({@code stock} or
 * {@code flotilla}), {@code sessions} (N), {@code self} (this node's cluster receiver port on 127.0.0.1),
 * {@code members} (both receiver ports, comma-separated), {@code timeout} (seconds the joiner waits for the sessions,
 * 300), {@code lifetime} (seconds after which the JVM halts whatever happens, 900), {@code load} (the owner's requests
 * per second once its sessions exist, until {@code CLOSE}; default 0, none) and {@code verbose} ({@code true}:
 * Tomcat's, Tribes' and Flotilla's INFO logs on stderr; default false, WARNING and above).
 *
 * <ul>
 *   <li>owner: starts alone, creates N sessions through its manager ({@code createSession}, then
 *       {@code setAttribute("user", "user" + i)} and {@code setAttribute("count", i)}) and ends a request on each
 *       through the cluster's replication valve ({@link ReplicationValveDriver}), as at the end of the request that
 *       created it: Flotilla's engine takes the session's first snapshot; stock, with no member yet, resets the
 *       session's delta request. Prints {@code READY <N> <ms to create>}. With {@code load} above 0 a thread then runs
 *       that many requests a second (paced, one at a time) until {@code CLOSE}, each on a session drawn at random
 *       (seeded): it sets {@code "hits"} to the request's number and ends through the valve, so the joiner's transfer
 *       runs while the owner replicates changes to sessions it is streaming.</li>
 *   <li>joiner: starts an embedded Tomcat without cluster first and stops it (Tomcat's own classes are loaded then, on
 *       both sides alike), then starts its clustered node. A thread polls, every millisecond from just before the
 *       start, how many sessions the node holds (stock: the {@code DeltaManager}'s sessions; Flotilla: the sessions its
 *       state transfer applied). Once N are there it checks every one of them (N sessions; each {@code count} in
 *       0..N-1 exactly once, with {@code user} equal to {@code "user" + count}) and prints {@code RESULT <ns until
 *       all N held> <ns until the Tomcat start returned> <bytes received> <N>}, times from just before the start,
 *       bytes: every frame the node's transport received since its start, headers included (stock: a byte counter at
 *       the bottom of the channel's interceptor stack, {@code ChannelData}'s package length; Flotilla: the transport's
 *       {@code flotilla.transport.bytes.received}), then {@code <sessions streamed> <transfer attempts>} (Flotilla: every
 *       session its state transfers received, restarts included, and how many sources it asked; stock: -1 -1). A
 *       failed check prints {@code FAILED <why>} and exits 1; a stock
 *       joiner whose {@code DeltaManager} never asked for the sessions (no member listed yet when its context
 *       started) prints {@code FAILED no-request: ...} at once instead of waiting.</li>
 * </ul>
 * Then each waits for {@code CLOSE} on stdin (or its end), stops its Tomcat, prints {@code CLOSED} and exits 0.
 *
 * <p>Threading: a program; the main thread, plus the joiner's watcher thread, the owner's load thread and a lifetime
 * timer.
 */
public final class StateTransferNode {
    /** The attributes each session gets. */
    static final String USER = "user";
    static final String COUNT = "count";
    /** The attribute the owner's load sets (its values are not checked). */
    static final String HITS = "hits";
    /** How a stock joiner's {@code FAILED} line starts when its {@code DeltaManager} never asked for the sessions. */
    static final String NO_REQUEST = "no-request:";

    private final PrintStream out = System.out;

    private StateTransferNode() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = ChildArgs.parse(args);
        long lifetime = Long.parseLong(o.getOrDefault("lifetime", "900"));
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "statetransfer-lifetime");
            t.setDaemon(true);
            return t;
        });
        timer.schedule(() -> {
            System.err.println("StateTransferNode: lifetime of " + lifetime + " s over, halting");
            Runtime.getRuntime().halt(3);
        }, lifetime, TimeUnit.SECONDS);
        List<Logger> quiet = new ArrayList<>();
        if (!Boolean.parseBoolean(o.getOrDefault("verbose", "false"))) {
            BenchTomcat.quietLogging(quiet);
        }

        String role = ChildArgs.require(o, "role");
        BenchTomcat.Kind kind = BenchTomcat.Kind.parse(ChildArgs.require(o, "impl"));
        int n = Integer.parseInt(ChildArgs.require(o, "sessions"));
        int self = Integer.parseInt(ChildArgs.require(o, "self"));
        List<Integer> members = new ArrayList<>();
        for (String p : ChildArgs.require(o, "members").split(",")) {
            members.add(Integer.parseInt(p.trim()));
        }
        Duration timeout = Duration.ofSeconds(Long.parseLong(o.getOrDefault("timeout", "300")));
        int load = Integer.parseInt(o.getOrDefault("load", "0"));
        StateTransferNode node = new StateTransferNode();
        BenchTomcat tomcat;
        boolean ok = true;
        Load running = null;
        switch (role) {
            case "owner" -> {
                tomcat = node.owner(kind, n, self, members);
                if (load > 0) {
                    running = new Load(tomcat, n, load, lifetime);
                }
            }
            case "joiner" -> {
                JoinOutcome j = node.joiner(kind, n, self, members, timeout);
                tomcat = j.tomcat;
                ok = j.ok;
            }
            default -> throw new IllegalArgumentException("role is owner or joiner, not " + role);
        }
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.trim().equals("CLOSE")) {
                    break;
                }
            }
        }
        if (running != null) {
            running.stop();
        }
        if (tomcat != null) {
            tomcat.close();
        }
        node.out.println("CLOSED");
        node.out.flush();
        System.exit(ok ? 0 : 1);
    }

    // ------------------------------------------------------------------------------------------ owner

    private BenchTomcat owner(BenchTomcat.Kind kind, int n, int self, List<Integer> members) throws Exception {
        BenchTomcat tomcat = new BenchTomcat("a", kind, false, self, members);
        long start = System.nanoTime();
        ReplicationValveDriver driver = new ReplicationValveDriver(tomcat, new NoWork());
        Manager manager = tomcat.manager();
        for (int i = 0; i < n; i++) {
            Session s = manager.createSession(null);
            StandardSession ss = (StandardSession) s;
            ss.setAttribute(USER, "user" + i);
            ss.setAttribute(COUNT, i);
            driver.run(s.getIdInternal());
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (manager.getActiveSessions() != n) {
            throw new IllegalStateException("the owner holds " + manager.getActiveSessions() + " sessions, not " + n);
        }
        out.println("READY " + n + " " + ms);
        out.flush();
        return tomcat;
    }

    /**
     * The owner's load: {@code perSecond} requests a second on sessions drawn at random (seed 1), one at a time on its
     * own thread, each setting {@link #HITS}; stops at {@link #stop}, after {@code lifetimeSeconds} of requests, or at
     * the first failed request (printed on stderr).
     */
    static final class Load {
        private final Thread thread;
        private volatile boolean stopped;

        Load(BenchTomcat tomcat, int n, int perSecond, long lifetimeSeconds) {
            ReplicationValveDriver driver = new ReplicationValveDriver(tomcat, new Hit());
            List<String> ids = new ArrayList<>();
            for (Session s : tomcat.manager().findSessions()) {
                ids.add(s.getIdInternal());
            }
            ids.sort(null);
            long intervalNanos = TimeUnit.SECONDS.toNanos(1) / perSecond;
            long max = perSecond * lifetimeSeconds;
            thread = new Thread(() -> {
                Random random = new Random(1);
                long next = System.nanoTime();
                for (long k = 0; k < max && !stopped; k++) {
                    try {
                        driver.run(ids.get(random.nextInt(n)));
                    } catch (Exception | AssertionError e) {
                        System.err.println("StateTransferNode: load request failed, load stopped: " + e);
                        return;
                    }
                    next += intervalNanos;
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                }
            }, "statetransfer-load");
            thread.setDaemon(true);
            thread.start();
        }

        void stop() throws InterruptedException {
            stopped = true;
            thread.join(TimeUnit.SECONDS.toMillis(10));
        }
    }

    /** The load's request work: one attribute set on the request's session. */
    static final class Hit extends ValveBase {
        private int hits;

        Hit() {
            super(true);
        }

        @Override
        public void invoke(Request request, Response response) {
            request.getSessionInternal(false).getSession().setAttribute(HITS, ++hits);
        }
    }

    /** The request's work when the session was already filled through the manager: nothing more. */
    static final class NoWork extends ValveBase {
        NoWork() {
            super(true);
        }

        @Override
        public void invoke(Request request, Response response) {
            // the attributes were set through the manager's session; the valve replicates them
        }
    }

    // ------------------------------------------------------------------------------------------ joiner

    private record JoinOutcome(BenchTomcat tomcat, boolean ok) {
    }

    private JoinOutcome joiner(BenchTomcat.Kind kind, int n, int self, List<Integer> members, Duration timeout)
            throws Exception {
        // Tomcat's own classes, loaded alike for both sides before the measured start.
        new BenchTomcat("warm-up", BenchTomcat.Kind.PLAIN, false, 0, List.of()).close();

        AtomicReference<Context> context = new AtomicReference<>();
        ReceivedBytes stockBytes = new ReceivedBytes();
        AtomicLong allHeld = new AtomicLong(-1);
        long deadline = System.nanoTime() + timeout.toNanos();
        Thread watcher = new Thread(() -> {
            while (System.nanoTime() - deadline < 0) {
                Context c = context.get();
                Manager m = c == null ? null : c.getManager();
                if (m != null && held(m) >= n) {
                    allHeld.set(System.nanoTime());
                    return;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
        }, "statetransfer-watcher");
        watcher.setDaemon(true);

        long start = System.nanoTime();
        BenchTomcat tomcat = new BenchTomcat("b", kind, false, self, members, c -> {
            if (c.getParent().getParent().getCluster() instanceof SimpleTcpCluster stock) {
                ((GroupChannel) stock.getChannel()).addInterceptor(stockBytes);
            }
            context.set(c);
            watcher.start();
        });
        long started = System.nanoTime();
        if (tomcat.manager() instanceof DeltaManager dm && allHeld.get() < 0
                && dm.getCounterSend_EVT_GET_ALL_SESSIONS() == 0) {
            // DeltaManager asks for the sessions once, when its context starts, and only if the channel already
            // lists a member: static members are added on Tribes' utility executor, which may come too late.
            return fail(tomcat, NO_REQUEST + " B's DeltaManager saw no member when its context started and never "
                    + "asked for the sessions (it asks once, at start)");
        }
        watcher.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) + 1000);
        long all = allHeld.get();
        if (all < 0) {
            return fail(tomcat, "B holds " + held(tomcat.manager()) + " of " + n + " sessions after "
                    + timeout.toSeconds() + " s");
        }
        String wrong = check(tomcat, n);
        if (wrong != null) {
            return fail(tomcat, wrong);
        }
        long bytes = kind == BenchTomcat.Kind.STOCK ? stockBytes.bytes.sum() : flotillaBytes(tomcat);
        boolean stock = kind == BenchTomcat.Kind.STOCK;
        long streamed = stock ? -1 : (long) counter(tomcat, "flotilla.replication.transfer.sessions.received");
        long attempts = stock ? -1 : BenchReplicas.transferAttempts(tomcat.manager());
        out.println("RESULT " + (all - start) + " " + (started - start) + " " + bytes + " " + n + " " + streamed + " "
                + attempts);
        out.flush();
        return new JoinOutcome(tomcat, true);
    }

    private JoinOutcome fail(BenchTomcat tomcat, String why) {
        out.println("FAILED " + why);
        out.flush();
        return new JoinOutcome(tomcat, false);
    }

    /** Sessions the node holds: stock, its {@code DeltaManager}'s; Flotilla, those its state transfer applied. */
    private static long held(Manager m) {
        return m instanceof DeltaManager ? m.getActiveSessions()
                : BenchReplicas.transferred(m);
    }

    /** Null when B holds exactly the owner's N sessions with their values; else what is wrong. */
    private static String check(BenchTomcat tomcat, int n) {
        Manager m = tomcat.manager();
        BitSet seen = new BitSet(n);
        int sessions = 0;
        if (m instanceof DeltaManager) {
            for (Session s : m.findSessions()) {
                sessions++;
                String wrong = checkOne(seen, n, s.getIdInternal(), ((StandardSession) s).getAttribute(USER),
                        ((StandardSession) s).getAttribute(COUNT));
                if (wrong != null) {
                    return wrong;
                }
            }
        } else {
            for (String id : BenchReplicas.replicaIds(m)) {
                sessions++;
                String wrong = checkOne(seen, n, id, BenchReplicas.attribute(m, id, USER),
                        BenchReplicas.attribute(m, id, COUNT));
                if (wrong != null) {
                    return wrong;
                }
            }
        }
        if (sessions != n || seen.cardinality() != n) {
            return "B holds " + sessions + " sessions with " + seen.cardinality() + " distinct counts; expected " + n;
        }
        return null;
    }

    private static String checkOne(BitSet seen, int n, String id, Object user, Object count) {
        if (!(count instanceof Integer c) || c < 0 || c >= n || seen.get(c) || !("user" + c).equals(user)) {
            return "session " + id.substring(0, Math.min(6, id.length())) + "… has user=" + user + ", count=" + count;
        }
        seen.set(c);
        return null;
    }

    private static long flotillaBytes(BenchTomcat tomcat) {
        return (long) counter(tomcat, "flotilla.transport.bytes.received");
    }

    /** The sum of the Flotilla node's counters named {@code name} (every tag); fails when there is none. */
    private static double counter(BenchTomcat tomcat, String name) {
        FlotillaCluster c = (FlotillaCluster) tomcat.context().getParent().getParent().getCluster();
        Collection<Counter> counters = c.getMeterRegistry().find(name).counters();
        if (counters.isEmpty()) {
            throw new IllegalStateException("the Flotilla node has no " + name + " counter");
        }
        return counters.stream().mapToDouble(Counter::count).sum();
    }

    /** Counts the bytes of every frame the stock channel receives (Tribes' package length: header and footer too). */
    static final class ReceivedBytes extends ChannelInterceptorBase {
        final LongAdder bytes = new LongAdder();

        @Override
        public void messageReceived(ChannelMessage msg) {
            if (msg instanceof ChannelData d) {
                bytes.add(XByteBuffer.getDataPackageLength(d.getDataPackageLength()));
            }
            super.messageReceived(msg);
        }
    }
}
