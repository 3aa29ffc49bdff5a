package io.flotilla.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The cost of one request as the cluster grows: 2, 4 and 8 Tomcats, each in its own small JVM
 * ({@link TomcatNodeMain}, {@link #NODE_JVM}), under the same sticky load, without a cluster (the baseline), with
 * stock {@code DeltaManager}, stock
 * {@code BackupManager}, Flotilla {@code mode="all"} and Flotilla {@code mode="backup" backups="1"}, all synchronous
 * ({@code channelSendOptions} 6); then Flotilla's two modes under a non-sticky (round-robin) load, where nearly every
 * request lands on a node that does not own its session. Two shared cores make latency meaningless here, so it
 * counts what a request costs, summed over the whole cluster.
 *
 * <p>How one variant is measured:
 * <ol>
 *   <li>The nodes start one after the other; cluster receivers on 127.0.0.1 at ports free at run time, static
 *       membership (no multicast), node {@code i} named {@code n<i>} as its {@code jvmRoute}. Each must list all N
 *       members ({@code MEMBERS}) before anything is measured.
 *   <li>Load: {@link #CONNECTIONS} keep-alive connections ({@link KeepAliveClient}) in a closed loop
 *       ({@link HttpLoad#closed}), {@link #SESSIONS_PER_CONNECTION} sessions each (200 in all); each request sets one
 *       {@code Integer} attribute (the servlet of {@link BenchTomcat}). Sticky: connection {@code c} and all its
 *       sessions go to node {@code c mod N}, so every node owns about the same number of sessions and serves every
 *       request for them. Non-sticky: session {@code s} of connection {@code c} sends request {@code k} to node
 *       {@code (c + s + k) mod N}, so each request moves its session to another node, and its id may take that
 *       node's route. Every answer must carry the session's counter, one more than the last, in the same session:
 *       for Flotilla anything else fails the run; for stock, whose {@code BackupManager} gives some wrong answers
 *       under this load, they are counted and shown. Sessions are created in the warm-up, so the window measures
 *       updates only.
 *   <li>Over the measured window, summed over all N nodes: the CPU time of each node's JVM ({@code /proc/<pid>/stat}
 *       through {@link ProcessHandle.Info#totalCpuDuration}); the payload bytes and data segments sent on every TCP
 *       connection to or from a cluster receiver port ({@link SocketCounters}: the kernel's {@code tcp_info}, the same
 *       count for stock and Flotilla, messages and acknowledgements of both directions); and, for Flotilla, the
 *       messages its nodes sent ({@code messagesSent} of the cluster MBean, one per target member). From each, the
 *       idle cluster's rate times the window is taken off (the cost of doing nothing, which grows with N whatever the
 *       load), and the rest is divided by the requests answered in the window.
 *   <li>Idle: {@link #IDLE} with no request right after the load (warm nodes, sessions in place), measured the same
 *       way: what the cluster costs doing nothing (heartbeats, liveness checks, timers), per second.
 * </ol>
 *
 * <p>Usage:
 * <pre>
 * java -Xmx256m -Djava.net.preferIPv4Stack=true -cp benchmarks/harness/target/harness.jar \
 *     io.flotilla.bench.ScaleHarness [--mode full|smoke] [--sizes 2,4,8] [--nonsticky 4|none] \
 *     [--warmup SECONDS] [--max-warmup SECONDS] [--measure SECONDS] [--out scale.txt]
 * </pre>
 * {@code full}: sizes 2, 4 and 8, non-sticky at 4, a warm-up of at least 3 s that goes on until the nodes' CPU per
 * request has settled ({@link #warmUp}, at most 60 s), 5 s measured and 2 s idle per variant (about 7 minutes);
 * {@code smoke}: 2 nodes, non-sticky at 2, 1 + 1 s (proves it runs; no figure to quote). It writes
 * {@code --out} as harness lines ({@code scale.<plain|all|backup>.n<N>[.nonsticky].<figure> <side> <value>};
 * {@code all} pairs Flotilla {@code mode="all"} with {@code DeltaManager}, {@code backup} pairs {@code mode="backup"}
 * with {@code BackupManager}, {@code plain} is on side {@code plain}), prints a table, and exits 1 if a request failed
 * or a node misbehaved, 2 on bad usage.
 *
 * <p>Threading: a program; the main thread drives the nodes, {@link #CONNECTIONS} threads run the client.
 */
public final class ScaleHarness {
    /**
     * JVM flags of every node: a small fixed heap (eight nodes share the machine), the serial collector, and C1 only,
     * so that compiling the hot paths (CPU a node spends whatever it serves) is done within the warm-up at every size;
     * the {@code --add-opens} Tomcat needs are {@link HttpHarness#NODE_JVM}'s.
     */
    static final List<String> NODE_JVM;

    static {
        List<String> flags = new ArrayList<>(List.of("-Xms128m", "-Xmx128m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1"));
        flags.addAll(HttpHarness.NODE_JVM.stream().filter(f -> !f.startsWith("-Xm") && !f.startsWith("-XX:")).toList());
        NODE_JVM = List.copyOf(flags);
    }

    /**
     * A stock {@code DeltaManager}'s wait for the sessions at start: the first node sees its static peers before they
     * are up and would wait the fixture's 120 s for an answer; there are no sessions to transfer yet.
     */
    static final int STOCK_STATE_TRANSFER_SECONDS = 3;
    static final int CONNECTIONS = 8;
    static final int SESSIONS_PER_CONNECTION = 25;
    static final Duration IDLE = Duration.ofSeconds(2);
    /** How often the warm-up samples the nodes' CPU per request. */
    static final Duration SAMPLE = Duration.ofSeconds(1);
    /**
     * The warm-up ends when the CPU per request over the last {@value #SETTLED_INTERVALS} sample intervals differs from
     * that of the {@value #SETTLED_INTERVALS} before by at most this. Chosen on 45 s warm-ups of every 8-node variant
     * ({@code benchmarks/results/issue16-scale-warmup.txt}): two intervals against two stopped one variant in its
     * decline (at 2x its steady cost); four against four stopped each within 8% of its steady cost, one second's
     * noise being about 15%.
     */
    static final double SETTLED_WITHIN = 0.05;
    static final int SETTLED_INTERVALS = 4;
    private static final Duration START_PATIENCE = Duration.ofSeconds(120);
    private static final Duration PATIENCE = Duration.ofSeconds(60);
    private static final int READ_TIMEOUT_MILLIS = 30_000;

    /**
     * The implementations, in the order measured at each size: first the same N Tomcats without a cluster, the
     * baseline of the CPU a request costs whatever replicates it (on two cores, more JVMs cost more per request).
     */
    static final List<BenchTomcat.Kind> KINDS = List.of(BenchTomcat.Kind.PLAIN, BenchTomcat.Kind.STOCK,
            BenchTomcat.Kind.STOCK_BACKUP,
            BenchTomcat.Kind.FLOTILLA, BenchTomcat.Kind.FLOTILLA_BACKUP);

    /** The figures of each variant, in the table's order. */
    static final List<String> FIGURES = List.of("requests_per_s", "segments_per_req", "bytes_per_req",
            "messages_per_req", "cpu_us_per_req");

    /** The run's defaults. */
    enum Mode {
        FULL(List.of(2, 4, 8), 4, 3, 60, 5), SMOKE(List.of(2), 2, 1, 1, 1);

        final List<Integer> sizes;
        final int nonSticky;
        final int warmupSeconds;
        final int maxWarmupSeconds;
        final int measureSeconds;

        Mode(List<Integer> sizes, int nonSticky, int warmupSeconds, int maxWarmupSeconds, int measureSeconds) {
            this.sizes = sizes;
            this.nonSticky = nonSticky;
            this.warmupSeconds = warmupSeconds;
            this.maxWarmupSeconds = maxWarmupSeconds;
            this.measureSeconds = measureSeconds;
        }
    }

    /** One cluster measured: an implementation, a size, and sticky or round-robin load. */
    record Variant(BenchTomcat.Kind kind, int nodes, boolean sticky) {
        /**
         * {@code all} (every node holds every session), {@code backup} (an owner and one backup) or {@code plain} (no
         * cluster).
         */
        String placement() {
            return switch (kind) {
                case PLAIN -> "plain";
                case STOCK, FLOTILLA -> "all";
                case STOCK_BACKUP, FLOTILLA_BACKUP -> "backup";
            };
        }

        /** {@code flotilla}, {@code stock} or {@code plain}. */
        String side() {
            return switch (kind) {
                case PLAIN -> "plain";
                case STOCK, STOCK_BACKUP -> "stock";
                case FLOTILLA, FLOTILLA_BACKUP -> "flotilla";
            };
        }

        /** {@code scale.<placement>.n<N>[.nonsticky].} */
        String metricPrefix() {
            return "scale." + placement() + ".n" + nodes + (sticky ? "" : ".nonsticky") + ".";
        }

        /** How the table names it. */
        String label() {
            return switch (kind) {
                case STOCK -> "stock DeltaManager";
                case STOCK_BACKUP -> "stock BackupManager";
                case FLOTILLA -> "flotilla mode=all";
                case FLOTILLA_BACKUP -> "flotilla mode=backup";
                case PLAIN -> "plain (no cluster)";
            } + (sticky ? "" : ", round robin");
        }

        @Override
        public String toString() {
            return kind.name().toLowerCase(Locale.ROOT) + "-n" + nodes + (sticky ? "" : "-nonsticky");
        }
    }

    /** The options of a run. */
    record Options(Mode mode, List<Integer> sizes, int nonSticky, int warmupSeconds, int maxWarmupSeconds,
            int measureSeconds, Path out) {
        /** Every variant in the order run: each size's four implementations sticky, then the non-sticky pair. */
        List<Variant> variants() {
            List<Variant> v = new ArrayList<>();
            for (int n : sizes) {
                KINDS.forEach(k -> v.add(new Variant(k, n, true)));
            }
            if (nonSticky > 0) {
                v.add(new Variant(BenchTomcat.Kind.FLOTILLA, nonSticky, false));
                v.add(new Variant(BenchTomcat.Kind.FLOTILLA_BACKUP, nonSticky, false));
            }
            return v;
        }

        static Options parse(String[] args) {
            Mode mode = Mode.FULL;
            List<Integer> sizes = null;
            Integer nonSticky = null;
            Integer warmup = null;
            Integer maxWarmup = null;
            Integer measure = null;
            Path out = null;
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + args[i]);
                }
                String v = args[i + 1];
                switch (args[i]) {
                    case "--mode" -> mode = Mode.valueOf(v.toUpperCase(Locale.ROOT));
                    case "--sizes" -> {
                        sizes = new ArrayList<>();
                        for (String s : v.split(",")) {
                            sizes.add(nodes("--sizes", s.trim()));
                        }
                    }
                    case "--nonsticky" -> nonSticky = v.equals("none") ? 0 : nodes("--nonsticky", v);
                    case "--warmup" -> warmup = seconds("--warmup", v);
                    case "--max-warmup" -> maxWarmup = seconds("--max-warmup", v);
                    case "--measure" -> measure = seconds("--measure", v);
                    case "--out" -> out = Path.of(v);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            int min = warmup == null ? mode.warmupSeconds : warmup;
            int max = maxWarmup != null ? maxWarmup : Math.max(min, mode.maxWarmupSeconds);
            if (max < min) {
                throw new IllegalArgumentException("--max-warmup (" + max + " s) must be at least --warmup (" + min
                        + " s)");
            }
            return new Options(mode, sizes == null ? mode.sizes : List.copyOf(sizes),
                    nonSticky == null ? mode.nonSticky : nonSticky, min, max,
                    measure == null ? mode.measureSeconds : measure, out);
        }

        private static int nodes(String flag, String v) {
            int n = Integer.parseInt(v);
            if (n < 2 || n > 16) {
                throw new IllegalArgumentException(flag + " takes cluster sizes in 2..16, got " + v);
            }
            return n;
        }

        private static int seconds(String flag, String v) {
            int n = Integer.parseInt(v);
            if (n < 1 || n > 600) {
                throw new IllegalArgumentException(flag + " must be in 1..600 seconds, got " + v);
            }
            return n;
        }
    }

    /**
     * What the cluster did over a stretch of time: node CPU (ns), TCP payload bytes and data segments, Flotilla
     * messages (-1 for stock), all summed over the nodes.
     */
    record Usage(long cpuNanos, long bytes, long segments, long messages) {
        /** This usage minus {@code idle} scaled from {@code idleNanos} to {@code nanos} (never below zero). */
        Usage net(Usage idle, long idleNanos, long nanos) {
            double f = (double) nanos / idleNanos;
            return new Usage(minus(cpuNanos, idle.cpuNanos, f), minus(bytes, idle.bytes, f),
                    minus(segments, idle.segments, f), messages < 0 ? -1 : minus(messages, idle.messages, f));
        }

        private static long minus(long total, long idle, double f) {
            return Math.max(0, total - Math.round(idle * f));
        }
    }

    /** One variant measured: requests answered in the window, its length, its usage net of idle, and the idle rates. */
    record Measurement(Variant variant, long requests, double seconds, Usage net, Usage idlePerSecond,
            long wrongAnswers, double warmupSeconds) {
        double perRequest(long v) {
            return v < 0 ? Double.NaN : (double) v / requests;
        }

        /** The figures of {@link #FIGURES}, in order. */
        double[] figures() {
            return new double[] {requests / seconds, perRequest(net.segments()), perRequest(net.bytes()),
                    perRequest(net.messages()), perRequest(net.cpuNanos()) / 1e3};
        }
    }

    private final Options options;
    private final PrintStream log;
    private final List<Measurement> measurements = new ArrayList<>();
    private final List<String> comments = new ArrayList<>();

    ScaleHarness(Options options, PrintStream log) {
        this.options = options;
        this.log = log;
    }

    public static void main(String[] args) throws IOException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: java -Djava.net.preferIPv4Stack=true -cp harness.jar"
                    + " io.flotilla.bench.ScaleHarness [--mode full|smoke] [--sizes 2,4,8] [--nonsticky 4|none]"
                    + " [--warmup S] [--max-warmup S] [--measure S] [--out scale.txt]");
            System.exit(2);
            return;
        }
        ScaleHarness h = new ScaleHarness(o, System.err);
        HttpHarness.runAndExit("ScaleHarness", h::run, h::harnessLines, h::printTable, o.out());
    }

    /** Runs the harness as {@link #main} would, without printing or exiting: for tests. Returns the harness lines. */
    public static List<String> runToLines(List<String> args, PrintStream log) {
        ScaleHarness h = new ScaleHarness(Options.parse(args.toArray(new String[0])), log);
        h.run();
        return h.harnessLines();
    }

    /** Runs every variant; throws {@link HttpHarness.HarnessFailure} at the first failure. */
    void run() {
        comments.add(String.format(Locale.ROOT, "ScaleHarness mode %s: sizes %s, non-sticky at %s, %d to %d s"
                + " warm-up (until the nodes' CPU per request settles) + %d s measured + %d s idle per variant,"
                + " channelSendOptions 6, %d connections x %d sessions, node JVM %s; load average at start %s",
                options.mode().name().toLowerCase(Locale.ROOT), options.sizes(),
                options.nonSticky() > 0 ? options.nonSticky() : "none", options.warmupSeconds(),
                options.maxWarmupSeconds(), options.measureSeconds(), IDLE.toSeconds(), CONNECTIONS,
                SESSIONS_PER_CONNECTION, String.join(" ", NODE_JVM.subList(0, 4)), HttpHarness.loadAverage()));
        for (Variant v : options.variants()) {
            log.printf(Locale.ROOT, "%s (%s, %d nodes)%n", v, v.label(), v.nodes());
            Measurement m = measure(v);
            measurements.add(m);
            double[] f = m.figures();
            String text = String.format(Locale.ROOT, "%s: %.0f requests/s; per request %.2f segments, %.0f bytes, %s"
                    + " messages, %.0f us CPU (net of idle: %.1f segments/s, %.0f bytes/s, %s messages/s, %.1f%% of a"
                    + " core; %d requests in %.1f s after %.0f s warm-up; %d wrong answers)", v, f[0], f[1], f[2],
                    Double.isNaN(f[3]) ? "-"
                    : String.format(Locale.ROOT, "%.2f", f[3]), f[4], (double) m.idlePerSecond().segments(),
                    (double) m.idlePerSecond().bytes(), m.idlePerSecond().messages() < 0 ? "-"
                    : Long.toString(m.idlePerSecond().messages()), m.idlePerSecond().cpuNanos() / 1e7, m.requests(),
                    m.seconds(), m.warmupSeconds(), m.wrongAnswers());
            log.println("  " + text);
            comments.add(text);
        }
        comments.add("load average at end " + HttpHarness.loadAverage());
    }

    // ---------------------------------------------------------------- one variant

    private Measurement measure(Variant v) {
        List<ChildJvm> nodes = new ArrayList<>();
        try {
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < v.nodes(); i++) {
                ports.add(BenchTomcat.freePort());
            }
            long lifetime = IDLE.toSeconds() + options.maxWarmupSeconds() + options.measureSeconds()
                    + 3 * START_PATIENCE.toSeconds();
            int[] httpPorts = new int[v.nodes()];
            for (int i = 0; i < v.nodes(); i++) {
                // One after the other: a stock DeltaManager starting while another starts drops its request for the
                // sessions ("inside GET_ALL_SESSIONS sync phase") and the other waits out stateTransferTimeout. The
                // first still waits for its peers: STOCK_STATE_TRANSFER_SECONDS.
                ChildJvm node = start(v, i, ports, lifetime);
                nodes.add(node);
                String[] ready = node.await("READY", l -> l.startsWith("READY "), START_PATIENCE).text().split(" ");
                httpPorts[i] = Integer.parseInt(ready[1]);
            }
            int members = v.kind() == BenchTomcat.Kind.PLAIN ? 1 : v.nodes();
            for (ChildJvm node : nodes) {
                HttpHarness.awaitValue(node, "MEMBERS", n -> n >= members, PATIENCE,
                        v + ": " + node + " does not see all " + v.nodes() + " members");
            }

            List<List<? extends HttpLoad.Target>> connections = connections(v, httpPorts);
            HttpLoad load = HttpLoad.closed(BenchJvm.LOOPBACK, httpPorts[0], connections, READ_TIMEOUT_MILLIS);
            long loadStart = System.nanoTime();
            long measureNanos = TimeUnit.SECONDS.toNanos(options.measureSeconds());
            long latest = loadStart + TimeUnit.SECONDS.toNanos(options.maxWarmupSeconds());
            load.start(latest, latest + measureNanos); // moved earlier once the cost per request has settled
            long windowStart = warmUp(v, nodes, load, loadStart, latest);
            long windowEnd = windowStart + measureNanos;
            if (windowStart != latest) {
                load.moveWindow(windowStart, windowEnd);
            }
            Usage used = null;
            long usedNanos = 0;
            if (load.awaitUntil(windowStart)) {
                long t0 = System.nanoTime();
                Snapshot u0 = snapshot(v, nodes, ports);
                if (load.awaitUntil(windowEnd)) {
                    used = snapshot(v, nodes, ports).since(u0);
                    usedNanos = System.nanoTime() - t0;
                }
            }
            HttpLoad.Result r;
            try {
                r = load.finish(windowEnd + TimeUnit.MILLISECONDS.toNanos(2L * READ_TIMEOUT_MILLIS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HttpHarness.HarnessFailure("interrupted waiting for the client threads", e);
            }
            if (!r.errors().isEmpty()) {
                throw new HttpHarness.HarnessFailure(v + ": " + r.errors().size() + " error(s) under load, first: "
                        + String.join("; ", r.errors().subList(0, Math.min(5, r.errors().size()))));
            }
            if (used == null || r.requests() == 0) {
                throw new HttpHarness.HarnessFailure(v + ": no request completed in the measured window");
            }
            // Idle after the load, not before: a node just started is still compiling and settling, which the
            // measured window (after the warm-up) no longer pays.
            long idleStart = System.nanoTime();
            Snapshot idle0 = snapshot(v, nodes, ports);
            parkFor(IDLE);
            Usage idle = snapshot(v, nodes, ports).since(idle0);
            long idleNanos = System.nanoTime() - idleStart;
            for (int i = 0; i < nodes.size(); i++) {
                log.printf(Locale.ROOT, "  n%d: %s%n", i, HttpHarness.ask(nodes.get(i), "STATS"));
            }
            Usage idlePerSecond = new Usage(idle.cpuNanos() * 1_000_000_000L / idleNanos,
                    idle.bytes() * 1_000_000_000L / idleNanos, idle.segments() * 1_000_000_000L / idleNanos,
                    idle.messages() < 0 ? -1 : idle.messages() * 1_000_000_000L / idleNanos);
            long wrong = connections.stream().flatMap(List::stream)
                    .mapToLong(t -> ((HttpHarness.ClientSession) t).wrongAnswers).sum();
            return new Measurement(v, r.requests(), options.measureSeconds(), used.net(idle, idleNanos, usedNanos),
                    idlePerSecond, wrong, (windowStart - loadStart) / 1e9);
        } finally {
            // One at a time, the last started first: each leaving Flotilla node hands its sessions to nodes that stay
            // (two draining at once would hand them to each other). Each stop is bounded and by PID.
            for (int i = nodes.size() - 1; i >= 0; i--) {
                nodes.get(i).close();
            }
        }
    }

    /**
     * Runs the load's warm-up: at least {@code --warmup}, then until the nodes' CPU per request has settled
     * ({@link #settled}, sampled each {@link #SAMPLE}) or {@code latest}. Nodes that just started spend their first
     * seconds compiling and loading classes, longer the more JVMs share the two cores (at 8 nodes a fixed 3 s left
     * about 40% of their CPU in the JIT: {@code benchmarks/results/issue16-scale-warmup.txt}). Returns when the
     * measured window starts.
     */
    private long warmUp(Variant v, List<ChildJvm> nodes, HttpLoad load, long loadStart, long latest) {
        long earliest = loadStart + TimeUnit.SECONDS.toNanos(options.warmupSeconds());
        List<Sample> samples = new ArrayList<>();
        long next = System.nanoTime();
        while (true) {
            samples.add(new Sample(cpuNanos(nodes), load.answeredSoFar()));
            long now = System.nanoTime();
            if (load.failed() || now - latest >= 0 || now - earliest >= 0 && settled(samples)) {
                log.printf(Locale.ROOT, "  %s: warm-up %.1f s, CPU us per request each %d ms: %s%n", v,
                        (now - loadStart) / 1e9, SAMPLE.toMillis(), perRequestMicros(samples));
                return load.failed() ? latest : Math.min(now, latest);
            }
            next += SAMPLE.toNanos();
            parkFor(Duration.ofNanos(Math.max(0, Math.min(next, latest) - now)));
        }
    }

    /** What the warm-up reads each {@link #SAMPLE}: the nodes' CPU and the requests answered, both so far. */
    record Sample(long cpuNanos, long answered) {
    }

    /**
     * Whether the CPU per request of the last {@link #SETTLED_INTERVALS} sample intervals is within
     * {@link #SETTLED_WITHIN} of the as many before. Compiling
     * shows as a cost per request that falls from one interval to the next; once it is done the cost only varies with
     * the load.
     */
    static boolean settled(List<Sample> samples) {
        int n = samples.size();
        int k = SETTLED_INTERVALS;
        if (n < 2 * k + 1) {
            return false;
        }
        double recent = perRequest(samples.get(n - 1 - k), samples.get(n - 1));
        double before = perRequest(samples.get(n - 1 - 2 * k), samples.get(n - 1 - k));
        return recent > 0 && before > 0 && Math.abs(recent - before) <= SETTLED_WITHIN * before;
    }

    private static double perRequest(Sample from, Sample to) {
        long requests = to.answered() - from.answered();
        return requests <= 0 ? -1 : (double) (to.cpuNanos() - from.cpuNanos()) / requests;
    }

    private static String perRequestMicros(List<Sample> samples) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i < samples.size(); i++) {
            out.add(String.format(Locale.ROOT, "%.0f", perRequest(samples.get(i - 1), samples.get(i)) / 1e3));
        }
        return String.join(" ", out);
    }

    private static long cpuNanos(List<ChildJvm> nodes) {
        long cpu = 0;
        for (ChildJvm node : nodes) {
            cpu += node.process().info().totalCpuDuration().map(Duration::toNanos).orElseThrow(
                    () -> new HttpHarness.HarnessFailure("the CPU time of " + node + " is unknown"));
        }
        return cpu;
    }

    /** Starts node {@code i} (route {@code n<i>}) of {@code v}; the caller awaits its READY line. */
    private static ChildJvm start(Variant v, int i, List<Integer> ports, long lifetimeSeconds) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ChildJvm.javaBinary());
        cmd.addAll(NODE_JVM);
        cmd.addAll(List.of("-cp", ChildJvm.classPath(), TomcatNodeMain.class.getName(), "route=n" + i,
                "kind=" + v.kind().name().toLowerCase(Locale.ROOT), "sync=true", "lifetime=" + lifetimeSeconds,
                "stateTransferTimeout=" + STOCK_STATE_TRANSFER_SECONDS,
                "receiverPort=" + ports.get(i),
                "members=" + String.join(",", ports.stream().map(String::valueOf).toList())));
        return ChildJvm.start(v + "-n" + i, cmd);
    }

    /**
     * The load's connections: {@link #CONNECTIONS} lists of {@link #SESSIONS_PER_CONNECTION} sessions; sticky,
     * connection {@code c} on node {@code c mod N}; non-sticky, session {@code s} of connection {@code c} starting on
     * node {@code (c + s) mod N} and moving one node on at each request.
     */
    static List<List<? extends HttpLoad.Target>> connections(Variant v, int[] httpPorts) {
        int n = httpPorts.length;
        List<List<? extends HttpLoad.Target>> out = new ArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
            List<HttpHarness.ClientSession> sessions = new ArrayList<>();
            for (int s = 0; s < SESSIONS_PER_CONNECTION; s++) {
                int[] rotation = null;
                if (!v.sticky()) {
                    rotation = new int[n];
                    for (int k = 0; k < n; k++) {
                        rotation[k] = httpPorts[(c + s + k) % n];
                    }
                }
                sessions.add(new HttpHarness.ClientSession(httpPorts[c % n], rotation, countsWrongAnswers(v)));
            }
            out.add(sessions);
        }
        return out;
    }

    /**
     * Whether the load counts wrong answers (a lost update, a session replaced by a new one) instead of failing at the
     * first: for stock, whose {@code BackupManager} loses some under this load (the table says how many); Flotilla
     * must give none.
     */
    static boolean countsWrongAnswers(Variant v) {
        return v.side().equals("stock");
    }

    /** What the nodes had used at one moment: CPU (ns), Flotilla's messages (-1 for stock), the sockets' counters. */
    private record Snapshot(long cpuNanos, long messages, SocketCounters sockets) {
        /** What was used from {@code before} to this snapshot. */
        Usage since(Snapshot before) {
            long[] tcp = sockets.since(before.sockets);
            return new Usage(cpuNanos - before.cpuNanos, tcp[0], tcp[1],
                    messages < 0 ? -1 : messages - before.messages);
        }
    }

    /** What the nodes used so far: CPU, Flotilla's messages, the cluster connections' counters. */
    private static Snapshot snapshot(Variant v, List<ChildJvm> nodes, List<Integer> ports) {
        long messages = v.side().equals("flotilla") ? 0 : -1;
        for (ChildJvm node : nodes) {
            if (messages >= 0) {
                messages += stat(HttpHarness.ask(node, "STATS"), "messagesSent");
            }
        }
        return new Snapshot(cpuNanos(nodes), messages, SocketCounters.read(ports));
    }

    /** The value of {@code key=value} in a {@code STATS} answer. */
    static long stat(String stats, String key) {
        for (String kv : stats.trim().split("\\s+")) {
            if (kv.startsWith(key + "=")) {
                return Long.parseLong(kv.substring(key.length() + 1));
            }
        }
        throw new HttpHarness.HarnessFailure("no " + key + " in STATS " + stats);
    }

    /** Parks for {@code d}: the idle window is a stretch of time, not a wait for an event. */
    private static void parkFor(Duration d) {
        long end = System.nanoTime() + d.toNanos();
        for (long left = d.toNanos(); left > 0; left = end - System.nanoTime()) {
            LockSupport.parkNanos(left);
        }
    }

    // ---------------------------------------------------------------- output

    /** The figures: metric name to side to value. */
    Map<String, Map<String, Double>> figures() {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (Measurement m : measurements) {
            double[] f = m.figures();
            for (int i = 0; i < FIGURES.size(); i++) {
                if (!Double.isNaN(f[i])) {
                    out.computeIfAbsent(m.variant().metricPrefix() + FIGURES.get(i), k -> new LinkedHashMap<>())
                            .put(m.variant().side(), f[i]);
                }
            }
        }
        return out;
    }

    /** Harness lines for {@link ResultsTable}, comments first. */
    List<String> harnessLines() {
        List<String> lines = new ArrayList<>();
        comments.forEach(c -> lines.add("# " + c));
        figures().forEach((metric, sides) -> sides.forEach((side, v) -> lines.add(String.format(Locale.ROOT,
                "%s %s %.2f", metric, side, v))));
        return lines;
    }

    private void printTable(PrintStream out) {
        out.printf(Locale.ROOT, "Per request, summed over every node, net of the idle cluster; channelSendOptions 6,"
                + " %d s measured after a warm-up of %d to %d s%n", options.measureSeconds(), options.warmupSeconds(),
                options.maxWarmupSeconds());
        out.printf(Locale.ROOT, "%-5s %-36s %9s %9s %9s %9s %9s %9s%n", "nodes", "variant", "req/s", "segments",
                "bytes", "messages", "CPU us", "wrong");
        for (Measurement m : measurements) {
            double[] f = m.figures();
            out.printf(Locale.ROOT, "%-5d %-36s %9.0f %9.2f %9.0f %9s %9.0f %9d%n", m.variant().nodes(),
                    m.variant().label(), f[0], f[1], f[2], Double.isNaN(f[3]) ? "-"
                    : String.format(Locale.ROOT, "%.2f", f[3]), f[4], m.wrongAnswers());
        }
        out.println("segments, bytes: TCP data segments and payload bytes on the cluster connections, both directions"
                + " (ss tcp_info); messages: Flotilla's messagesSent (one per target member); wrong: answers (of the"
                + " whole run) with a lost update or a new session in place of the client's (stock only; Flotilla fails"
                + " the run)");
        out.println("load average at end: " + HttpHarness.loadAverage());
    }
}
