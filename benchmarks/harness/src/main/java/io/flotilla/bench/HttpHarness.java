package io.flotilla.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import org.HdrHistogram.Histogram;

/**
 * End to end over HTTP: two embedded Tomcats, each in its own JVM ({@link TomcatNodeMain}), a servlet that sets one
 * {@code Integer} attribute per request ({@link BenchTomcat}), and keep-alive load from this JVM: requests/s and
 * p50/p99 latency with no cluster, with the stock cluster ({@code SimpleTcpCluster} + {@code DeltaManager}) and
 * with Flotilla ({@code FlotillaCluster}), asynchronous ({@code channelSendOptions} 8) and synchronous (6).
 *
 * <p>How one variant is measured:
 * <ol>
 *   <li>Node A (route {@code a}) and, for a cluster, node B (route {@code b}) start in child JVMs with the same flags
 *       ({@link #NODE_JVM}); cluster receivers on 127.0.0.1 at ports free at run time, static membership. The
 *       baseline ({@code plain}) is node A alone with a non-distributable context.
 *   <li>Before any load, both members must list each other ({@code MEMBERS}), and one probe session created on A
 *       must show up on B: a session created before the views meet would be a different test.
 *   <li>{@code --threads} (8) client threads, each with one persistent HTTP/1.1 connection to A
 *       ({@link KeepAliveClient}: all load on A, sticky; B is the backup), share {@code --sessions} (200) sessions
 *       round-robin (25 each); each session's first request creates it and its {@code JSESSIONID} is sent from then
 *       on. Every response must be 200 and carry the session's counter, one more than the last: a lost update, a
 *       reset or a changed session id is an error, and any error fails the run.
 *   <li>The peak, in a closed loop ({@link HttpLoad#closed}): warm-up, then a measured window: requests/s = requests
 *       completed in the window / the window; latency (write of the request to the end of the response) of each of
 *       those requests, recorded in an HdrHistogram ({@link #LATENCY_DIGITS} significant digits) from which p50 and
 *       p99 are read. These latencies are service times: each connection waits for its answer before it sends again.
 *       The CPU time of A, B and this JVM over the window is logged per request.
 *   <li>Then, in the same JVMs and sessions, the latency at fixed offered loads, in an open loop at a constant rate
 *       ({@link HttpLoad#constantRate}, wrk2's model, over the same {@code --threads} connections): for each of
 *       {@code --loads} (25, 50 and 75% of the peak just measured), a short warm-up at that rate and a measured
 *       window, each request's latency taken from the time it was due (coordinated-omission correction); p50, p99,
 *       p99.9 and max are read from its histogram.
 *   <li>After the load, B must hold every session (polled, bounded); both JVMs are closed ({@code CLOSE}) and
 *       killed by PID after a bounded wait if they do not exit.
 * </ol>
 * The variants run interleaved, in one order in odd rounds and reversed in even ones; each figure is the median of
 * its rounds, and {@code e2e.<mode>.ratio_to_plain} is the median requests/s of the cluster divided by the median
 * requests/s of {@code plain} of the same run. The open loop's figures are {@code e2e.<mode>.load<percent>.*}: the
 * offered rate ({@code offered_per_s}: each side is offered a fraction of its own peak, so the rows compare latency at
 * the same share of each side's capacity) and {@code p50_us}, {@code p99_us}, {@code p999_us}, {@code max_us}.
 *
 * <p>Load shapes ({@link Shape}, {@code --shapes}, all three by default): {@code raw-int} is the above; {@code
 * jdk-int} the same servlet with the JDK's {@code HttpClient} as the client (what an application's own load tool
 * would use; it costs 75 to 130 us of client CPU per request on the cores the nodes share, so its peak is lower), and
 * {@code jdk-graph} that client on {@code /app/graph}, which replaces a ~2 KiB object graph in the session each
 * request. The JDK shapes measure the peak and the CPU per request ({@code e2e.jdk.<mode>.*},
 * {@code e2e.jdk.graph.<mode>.*}), each against its own {@code plain}; the open loop runs for {@code raw-int} only.
 * Every shape writes {@code cpu_a_us} and {@code cpu_b_us}: the CPU time of node A (serving) and B (backup) per
 * request over the measured window.
 *
 * <p>Usage:
 * <pre>
 * java -Xmx256m -Djava.net.preferIPv4Stack=true -cp benchmarks/harness/target/harness.jar io.flotilla.bench.HttpHarness \
 *     [--mode full|quick|smoke] [--rounds N] [--warmup SECONDS] [--measure SECONDS] [--impl flotilla|stock|both] \
 *     [--sync async|sync|both] [--threads 8] [--sessions 200] [--loads 25,50,75|none] [--out http-harness.txt]
 *     [--jfr DIR] [--shapes raw-int,jdk-int,jdk-graph]
 * </pre>
 * Modes: {@code full} 2 rounds of 15 s warm-up + 15 s measured per variant, then 5 + 10 s per offered load (about 15
 * minutes), {@code quick} 1 round of 3 + 5 s and 1 + 3 s per load, {@code smoke} 1 round of 1 + 1 s and 0 + 1 s per
 * load (proves it runs; no figure to quote). {@code --jfr DIR} records a
 * JFR profile ({@code settings=profile}, a stack sample every millisecond) of every node into
 * {@code DIR/<variant>-r<round>-<a|b>.jfr}. It writes {@code --out} as harness lines
 * ({@code <metric> <flotilla|stock|plain> <value>}, which {@link ResultsTable} reads with {@code --harness}), prints a
 * table, and exits 1 if any request failed or a node misbehaved, 2 on bad usage.
 *
 * <p>Threading: a program; the main thread drives the nodes, {@code --threads} threads run the client.
 */
public final class HttpHarness {
    /**
     * JVM flags of every Tomcat node, whatever its variant (the flags of {@code --jfr} aside): a fixed 512 MiB G1 heap,
     * and the {@code --add-opens} that Tomcat's {@code catalina.sh} gives every Tomcat on Java 17 (its class loader's
     * leak protection needs them at undeploy).
     */
    static final List<String> NODE_JVM = List.of("-Xms512m", "-Xmx512m", "-XX:+UseG1GC", BenchJvm.IPV4,
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.rmi/sun.rmi.transport=ALL-UNNAMED");
    /** With {@code --jfr}: a Java stack sample every millisecond (the profile's default, 10 ms, gives too few). */
    static final String JFR_SAMPLING = "jdk.ExecutionSample#period=1ms";
    private static final Duration START_PATIENCE = Duration.ofSeconds(120);
    private static final Duration PATIENCE = Duration.ofSeconds(60);
    private static final int READ_TIMEOUT_MILLIS = 30_000;
    private static final String PATH = "/app/set";
    /**
     * Significant decimal digits of the latency histograms: a recorded latency (nanoseconds, any size, the histogram
     * grows) is kept to within 0.1%, so a p50 or p99 read from it is at most 0.1% above the exact order statistic.
     */
    static final int LATENCY_DIGITS = 3;
    /** The offered loads of the open loop by default, in percent of the peak measured just before. */
    static final List<Integer> DEFAULT_LOADS = List.of(25, 50, 75);

    /** The run's durations. */
    enum Mode {
        // 15 s of warm-up in full: with three JVMs on two cores, C2 still compiles Tomcat's and the cluster's hot
        // paths 10 s into the load (JFR's compilation events), which would land in the measured window.
        // Each offered load: a short warm-up at its rate (the server is warm from the peak), then its window.
        FULL(2, 15, 15, 5, 10), QUICK(1, 3, 5, 1, 3), SMOKE(1, 1, 1, 0, 1);

        final int rounds;
        final int warmupSeconds;
        final int measureSeconds;
        final int loadWarmupSeconds;
        final int loadMeasureSeconds;

        Mode(int rounds, int warmupSeconds, int measureSeconds, int loadWarmupSeconds, int loadMeasureSeconds) {
            this.rounds = rounds;
            this.warmupSeconds = warmupSeconds;
            this.measureSeconds = measureSeconds;
            this.loadWarmupSeconds = loadWarmupSeconds;
            this.loadMeasureSeconds = loadMeasureSeconds;
        }
    }

    /**
     * A load shape: the client ({@link HttpLoad.Client}) and what each request puts in its session ({@code int}: one
     * {@code Integer}, {@code /app/set}; {@code graph}: a new object graph of about 2 KiB, {@code /app/graph},
     * {@link BenchTomcat#cart}). {@code raw-int} is the suite's first shape, with the open loop; the others measure
     * the peak and CPU only.
     */
    record Shape(HttpLoad.Client client, boolean graph) {
        static final Shape RAW_INT = new Shape(HttpLoad.Client.RAW, false);
        static final List<Shape> ALL = List.of(RAW_INT, new Shape(HttpLoad.Client.JDK, false),
                new Shape(HttpLoad.Client.JDK, true));

        /** {@code raw-int}, {@code jdk-int}, {@code jdk-graph}, ... */
        static Shape parse(String v) {
            String[] f = v.split("-");
            if (f.length != 2 || !List.of("raw", "jdk").contains(f[0]) || !List.of("int", "graph").contains(f[1])) {
                throw new IllegalArgumentException("--shapes takes raw-int, raw-graph, jdk-int or jdk-graph, got " + v);
            }
            return new Shape(HttpLoad.Client.valueOf(f[0].toUpperCase(Locale.ROOT)), f[1].equals("graph"));
        }

        /** What the metric names insert after {@code e2e.}: nothing for {@code raw-int}, else {@code jdk.}, ... */
        String prefix() {
            return (client == HttpLoad.Client.JDK ? "jdk." : "") + (graph ? "graph." : "");
        }

        String path() {
            return graph ? "/app/graph" : PATH;
        }

        /** Whether the open loop runs: the raw client only (the JDK client's CPU would be in every figure). */
        boolean openLoop() {
            return client == HttpLoad.Client.RAW;
        }

        @Override
        public String toString() {
            return client.name().toLowerCase(Locale.ROOT) + "-" + (graph ? "graph" : "int");
        }
    }

    /** One configuration measured: {@code plain}, or a cluster kind in a send mode, under a load shape. */
    record Variant(BenchTomcat.Kind kind, boolean sync, Shape shape) {
        static final Variant PLAIN = plain(Shape.RAW_INT);

        Variant(BenchTomcat.Kind kind, boolean sync) {
            this(kind, sync, Shape.RAW_INT);
        }

        static Variant plain(Shape shape) {
            return new Variant(BenchTomcat.Kind.PLAIN, false, shape);
        }

        /** The start of its metric names: {@code e2e.<shape prefix><mode>.}. */
        String prefix() {
            return "e2e." + shape.prefix() + mode() + ".";
        }

        /** {@code async} or {@code sync}; {@code plain} for the baseline. */
        String mode() {
            return kind == BenchTomcat.Kind.PLAIN ? "plain" : sync ? "sync" : "async";
        }

        /** The side in the harness lines: {@code flotilla}, {@code stock} or {@code plain}. */
        String side() {
            return kind.name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            String base = kind == BenchTomcat.Kind.PLAIN ? "plain" : side() + "-" + mode();
            return shape.equals(Shape.RAW_INT) ? base : base + "-" + shape;
        }
    }

    /** The options of a run. */
    record Options(Mode mode, int rounds, int warmupSeconds, int measureSeconds, List<BenchTomcat.Kind> impls,
            List<Boolean> syncModes, int threads, int sessions, List<Integer> loads, Path out, Path jfr,
            List<Shape> shapes) {

        /**
         * The variants of one round, in the order of odd rounds: shape by shape, the baseline first, async before
         * sync.
         */
        List<Variant> variants() {
            List<Variant> v = new ArrayList<>();
            for (Shape shape : shapes) {
                v.add(Variant.plain(shape));
                for (boolean sync : syncModes) {
                    for (BenchTomcat.Kind k : impls) {
                        v.add(new Variant(k, sync, shape));
                    }
                }
            }
            return v;
        }

        static Options parse(String[] args) {
            Mode mode = Mode.QUICK;
            Integer rounds = null;
            Integer warmup = null;
            Integer measure = null;
            List<BenchTomcat.Kind> impls = List.of(BenchTomcat.Kind.STOCK, BenchTomcat.Kind.FLOTILLA);
            List<Boolean> sync = List.of(false, true);
            int threads = 8;
            int sessions = 200;
            List<Integer> loads = DEFAULT_LOADS;
            Path out = null;
            Path jfr = null;
            List<Shape> shapes = Shape.ALL;
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + args[i]);
                }
                String v = args[i + 1];
                switch (args[i]) {
                    case "--mode" -> mode = Mode.valueOf(v.toUpperCase(Locale.ROOT));
                    case "--rounds" -> rounds = positive("--rounds", v);
                    case "--warmup" -> warmup = positive("--warmup", v);
                    case "--measure" -> measure = positive("--measure", v);
                    case "--impl" -> impls = switch (v) {
                        case "both" -> List.of(BenchTomcat.Kind.STOCK, BenchTomcat.Kind.FLOTILLA);
                        case "stock" -> List.of(BenchTomcat.Kind.STOCK);
                        case "flotilla" -> List.of(BenchTomcat.Kind.FLOTILLA);
                        default -> throw new IllegalArgumentException("--impl flotilla|stock|both, got " + v);
                    };
                    case "--sync" -> sync = switch (v) {
                        case "both" -> List.of(false, true);
                        case "async" -> List.of(false);
                        case "sync" -> List.of(true);
                        default -> throw new IllegalArgumentException("--sync async|sync|both, got " + v);
                    };
                    case "--threads" -> threads = positive("--threads", v);
                    case "--sessions" -> sessions = positive("--sessions", v);
                    case "--loads" -> loads = loads(v);
                    case "--out" -> out = Path.of(v);
                    case "--jfr" -> jfr = Path.of(v);
                    case "--shapes" -> shapes = Arrays.stream(v.split(",")).map(String::trim).map(Shape::parse)
                            .distinct().toList();
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (sessions < threads) {
                throw new IllegalArgumentException("--sessions " + sessions + " must be at least --threads " + threads);
            }
            return new Options(mode, rounds == null ? mode.rounds : rounds,
                    warmup == null ? mode.warmupSeconds : warmup, measure == null ? mode.measureSeconds : measure,
                    impls, sync, threads, sessions, loads, out, jfr, shapes);
        }

        /** {@code none}, or percentages of the peak in 1..100, ascending, e.g. {@code 25,50,75}. */
        private static List<Integer> loads(String v) {
            if (v.equals("none")) {
                return List.of();
            }
            List<Integer> out = new ArrayList<>();
            for (String p : v.split(",")) {
                int percent = positive("--loads", p.trim());
                if (percent > 100 || (!out.isEmpty() && percent <= out.get(out.size() - 1))) {
                    throw new IllegalArgumentException("--loads takes ascending percentages of the peak in 1..100"
                            + " or none, got " + v);
                }
                out.add(percent);
            }
            return List.copyOf(out);
        }

        private static int positive(String flag, String v) {
            int n = Integer.parseInt(v);
            if (n <= 0 || n > 100_000) {
                throw new IllegalArgumentException(flag + " must be in 1..100000, got " + v);
            }
            return n;
        }
    }

    /**
     * One variant measured once: its peak (closed loop) and its latencies at each offered load (open loop, in
     * {@code --loads} order).
     */
    record Measurement(Variant variant, int round, long requests, double seconds, long p50Nanos, long p99Nanos,
            String cpu, List<AtLoad> loads, double cpuAMicros, double cpuBMicros) {
        /** Without CPU figures (NaN). */
        Measurement(Variant variant, int round, long requests, double seconds, long p50Nanos, long p99Nanos,
                String cpu, List<AtLoad> loads) {
            this(variant, round, requests, seconds, p50Nanos, p99Nanos, cpu, loads, Double.NaN, Double.NaN);
        }

        double requestsPerSecond() {
            return requests / seconds;
        }
    }

    /**
     * The open loop at one offered load: {@code percent} of the peak, {@code offeredPerSecond} requests/s, and the
     * latencies (nanoseconds, from each request's due time) of the requests due in its window.
     */
    record AtLoad(int percent, double offeredPerSecond, long p50Nanos, long p99Nanos, long p999Nanos, long maxNanos) {
        static AtLoad of(int percent, double offeredPerSecond, Histogram h) {
            return new AtLoad(percent, offeredPerSecond, percentile(h, 50), percentile(h, 99), percentile(h, 99.9),
                    h.getTotalCount() == 0 ? 0 : h.getMaxValue());
        }

        String text() {
            return String.format(Locale.ROOT, "%d%% = %.0f/s: p50 %.0f, p99 %.0f, p99.9 %.0f, max %.0f us", percent,
                    offeredPerSecond, p50Nanos / 1e3, p99Nanos / 1e3, p999Nanos / 1e3, maxNanos / 1e3);
        }
    }

    /** A run that went wrong: a failed request, a lost update, a node that did not start or replicate. */
    static final class HarnessFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HarnessFailure(String message) {
            super(message);
        }

        HarnessFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Options options;
    private final PrintStream log;
    private final List<Measurement> measurements = new ArrayList<>();
    private final List<String> comments = new ArrayList<>();

    HttpHarness(Options options, PrintStream log) {
        this.options = options;
        this.log = log;
    }

    public static void main(String[] args) throws IOException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: java -Djava.net.preferIPv4Stack=true -cp harness.jar io.flotilla.bench.HttpHarness"
                    + " [--mode full|quick|smoke] [--rounds N] [--warmup S] [--measure S] [--impl flotilla|stock|both]"
                    + " [--sync async|sync|both] [--threads 8] [--sessions 200] [--loads 25,50,75|none]"
                    + " [--out harness.txt] [--jfr DIR] [--shapes raw-int,jdk-int,jdk-graph]");
            System.exit(2);
            return;
        }
        HttpHarness h = new HttpHarness(o, System.err);
        runAndExit("HttpHarness", h::run, h::harnessLines, h::printTable, o.out());
    }

    /**
     * The end of a harness program's {@code main}: runs it; then prints its table and writes its harness lines to
     * {@code out} (if set) and exits 0, or, at a {@link HarnessFailure}, writes the lines so far and a
     * {@code # FAILED} line and exits 1.
     */
    static void runAndExit(String name, Runnable run, Supplier<List<String>> harnessLines,
            Consumer<PrintStream> printTable, Path out) throws IOException {
        try {
            run.run();
        } catch (HarnessFailure e) {
            System.err.println(name + " FAILED: " + e.getMessage());
            if (e.getCause() != null) {
                e.getCause().printStackTrace();
            }
            if (out != null) {
                List<String> lines = new ArrayList<>(harnessLines.get());
                lines.add("# FAILED: " + e.getMessage().replace('\n', ' '));
                Files.write(out, lines, StandardCharsets.UTF_8);
            }
            System.exit(1);
        }
        printTable.accept(System.out);
        if (out != null) {
            Files.write(out, harnessLines.get(), StandardCharsets.UTF_8);
            System.out.println("Wrote " + out);
        }
        System.exit(0);
    }

    /**
     * Runs the harness with {@code args} as {@link #main} would, logging progress to {@code log}, without printing
     * the table or exiting: for tests. Returns the harness lines; throws at the first failure.
     */
    public static List<String> runToLines(List<String> args, PrintStream log) {
        HttpHarness h = new HttpHarness(Options.parse(args.toArray(new String[0])), log);
        h.run();
        return h.harnessLines();
    }

    /** Adds a measurement as {@link #run} would: for tests of the figures. */
    void add(Measurement m) {
        measurements.add(m);
    }

    /** Runs every round of every variant; throws {@link HarnessFailure} at the first failure. */
    void run() {
        comment(String.format(Locale.ROOT, "HttpHarness mode %s: %d round(s) x (%d s warm-up + %d s measured), "
                + "then an open loop at %s%% of the peak (%d s warm-up + %d s measured each), %d threads, %d sessions,"
                + " shapes %s, node JVM %s; load average at start %s", options.mode().name().toLowerCase(Locale.ROOT),
                options.rounds(), options.warmupSeconds(), options.measureSeconds(), options.loads(),
                options.mode().loadWarmupSeconds, options.mode().loadMeasureSeconds, options.threads(),
                options.sessions(), options.shapes(), String.join(" ", NODE_JVM.subList(0, 3)), loadAverage()));
        if (options.jfr() != null) {
            try {
                Files.createDirectories(options.jfr());
            } catch (IOException e) {
                throw new HarnessFailure("cannot create --jfr " + options.jfr(), e);
            }
        }
        List<Variant> order = options.variants();
        for (int round = 1; round <= options.rounds(); round++) {
            List<Variant> thisRound = new ArrayList<>(order);
            if (round % 2 == 0) {
                Collections.reverse(thisRound);
            }
            for (Variant v : thisRound) {
                log.printf(Locale.ROOT, "round %d/%d, %s%n", round, options.rounds(), v);
                Measurement m = measure(v, round);
                measurements.add(m);
                log.printf(Locale.ROOT, "  %-15s %10.0f requests/s  p50 %7.0f us  p99 %7.0f us  (%d requests in %.1f s;"
                        + " %s)%n", v, m.requestsPerSecond(), m.p50Nanos() / 1e3, m.p99Nanos() / 1e3, m.requests(),
                        m.seconds(), m.cpu());
                comment(String.format(Locale.ROOT, "round %d %s: %.0f requests/s, p50 %.0f us, p99 %.0f us; %s",
                        round, v, m.requestsPerSecond(), m.p50Nanos() / 1e3, m.p99Nanos() / 1e3, m.cpu()));
                for (AtLoad l : m.loads()) {
                    log.printf(Locale.ROOT, "  %-15s open loop at %s%n", v, l.text());
                    comment("round " + round + " " + v + " open loop at " + l.text());
                }
            }
        }
        comment("load average at end " + loadAverage());
    }

    // ---------------------------------------------------------------- one variant

    private Measurement measure(Variant v, int round) {
        List<ChildJvm> nodes = new ArrayList<>();
        try {
            ChildJvm a;
            ChildJvm b = null;
            long lifetime = options.warmupSeconds() + options.measureSeconds() + (long) options.loads().size()
                    * (options.mode().loadWarmupSeconds + options.mode().loadMeasureSeconds)
                    + 3 * START_PATIENCE.toSeconds();
            if (v.kind() == BenchTomcat.Kind.PLAIN) {
                a = startNode(nodes, v, round, "a", 0, List.of(), lifetime);
            } else {
                int portA = BenchTomcat.freePort();
                int portB = BenchTomcat.freePort();
                a = startNode(nodes, v, round, "a", portA, List.of(portA, portB), lifetime);
                b = startNode(nodes, v, round, "b", portB, List.of(portA, portB), lifetime);
                awaitValue(a, "MEMBERS", n -> n >= 2, PATIENCE, v + ": node A does not see node B");
                awaitValue(b, "MEMBERS", n -> n >= 2, PATIENCE, v + ": node B does not see node A");
            }
            int httpPort = httpPort(a);
            int probes = 0;
            if (b != null) {
                probe(httpPort, v);
                probes = 1;
                awaitValue(b, "SESSIONS", n -> n >= 1, PATIENCE, v + ": the probe session created on A never "
                        + "reached B");
            }
            List<ClientSession> sessions = new ArrayList<>();
            for (int s = 0; s < options.sessions(); s++) {
                sessions.add(new ClientSession(httpPort, null, false, v.shape().path()));
            }
            List<List<? extends HttpLoad.Target>> connections = HttpLoad.roundRobin(sessions, options.threads());
            Load.Result r = new Load(HttpLoad.closed(BenchJvm.LOOPBACK, httpPort, connections, READ_TIMEOUT_MILLIS,
                    v.shape().client())).run(Duration.ofSeconds(options.warmupSeconds()),
                            Duration.ofSeconds(options.measureSeconds()), a, b);
            check(r, v + " round " + round);
            double peak = r.requests() / r.seconds();
            List<AtLoad> atLoads = new ArrayList<>();
            for (int percent : v.shape().openLoop() ? options.loads() : List.<Integer>of()) {
                double rate = peak * percent / 100;
                Load.Result o = new Load(HttpLoad.constantRate(BenchJvm.LOOPBACK, httpPort, connections, rate,
                        READ_TIMEOUT_MILLIS)).run(Duration.ofSeconds(options.mode().loadWarmupSeconds),
                                Duration.ofSeconds(options.mode().loadMeasureSeconds), a, b);
                check(o, v + " round " + round + " at " + percent + "% of the peak");
                atLoads.add(AtLoad.of(percent, rate, o.latencies()));
            }
            if (b != null) {
                int expected = options.sessions() + probes;
                awaitValue(b, "SESSIONS", n -> n >= expected, PATIENCE, v + ": the backup does not hold all "
                        + expected + " sessions");
                log.printf(Locale.ROOT, "  A: %s%n  B: %s%n", ask(a, "STATS"), ask(b, "STATS"));
            }
            return new Measurement(v, round, r.requests(), r.seconds(), r.percentile(50), r.percentile(99), r.cpu(),
                    atLoads, r.cpuAMicros(), r.cpuBMicros());
        } finally {
            // B first: a backup that leaves costs A nothing, whereas A leaving first would have B take over every
            // session while it shuts down. Each stop is bounded and by PID.
            for (int i = nodes.size() - 1; i >= 0; i--) {
                nodes.get(i).close();
            }
        }
    }

    /** Fails the run if the load had an error or counted no request. */
    private static void check(Load.Result r, String what) {
        if (!r.errors().isEmpty()) {
            throw new HarnessFailure(what + ": " + r.errors().size() + " error(s) under load, first: "
                    + String.join("; ", r.errors().subList(0, Math.min(5, r.errors().size()))));
        }
        if (r.requests() == 0) {
            throw new HarnessFailure(what + ": no request completed in the measured window");
        }
    }

    private ChildJvm startNode(List<ChildJvm> nodes, Variant v, int round, String route, int receiverPort,
            List<Integer> members, long lifetimeSeconds) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ChildJvm.javaBinary());
        cmd.addAll(NODE_JVM);
        if (options.jfr() != null) {
            Path file = options.jfr().resolve(v + "-r" + round + "-" + route + ".jfr").toAbsolutePath();
            cmd.add("-XX:StartFlightRecording=settings=profile," + JFR_SAMPLING + ",dumponexit=true,filename=" + file);
        }
        cmd.addAll(List.of("-cp", ChildJvm.classPath(), TomcatNodeMain.class.getName(), "route=" + route,
                "kind=" + v.side(), "sync=" + v.sync(), "lifetime=" + lifetimeSeconds));
        if (!members.isEmpty()) {
            cmd.add("receiverPort=" + receiverPort);
            cmd.add("members=" + members.stream().map(String::valueOf).reduce((x, y) -> x + "," + y).orElse(""));
        }
        ChildJvm c = ChildJvm.start(v + "-" + route, cmd);
        nodes.add(c);
        c.await("READY", l -> l.startsWith("READY "), START_PATIENCE);
        return c;
    }

    private static int httpPort(ChildJvm node) {
        return Integer.parseInt(node.await("READY", l -> l.startsWith("READY "), Duration.ZERO).text().split(" ")[1]);
    }

    /** One request on a fresh connection: creates a session on A, which must reach B before the load starts. */
    private static void probe(int port, Variant v) {
        try (KeepAliveClient c = new KeepAliveClient(BenchJvm.LOOPBACK, port, READ_TIMEOUT_MILLIS)) {
            KeepAliveClient.Response r = c.exchange(KeepAliveClient.request(BenchJvm.LOOPBACK, port, PATH, null));
            if (r.status() != 200 || !"1".equals(r.body()) || r.setSessionId() == null) {
                throw new HarnessFailure(v + ": the probe request got " + r);
            }
        } catch (IOException e) {
            throw new HarnessFailure(v + ": the probe request failed", e);
        }
    }

    /**
     * Sends {@code VERB tag} to a node ({@link TomcatNodeMain}) and returns the rest of its {@code VERB tag ...}
     * answer. The tag is the time of the question: distinct for the questions of one caller thread.
     */
    static String ask(ChildJvm node, String verb) {
        String tag = Long.toString(System.nanoTime());
        String prefix = verb + " " + tag + " ";
        node.command(verb + " " + tag);
        return node.await(verb, l -> l.startsWith(prefix), PATIENCE).text().substring(prefix.length());
    }

    /** Asks {@code verb} until its number satisfies {@code ok}, at most {@code timeout}; fails with {@code what}. */
    static void awaitValue(ChildJvm node, String verb, Predicate<Integer> ok, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 1_000_000;
        String last = "";
        for (int i = 0; i < 100_000; i++) {
            last = ask(node, verb);
            if (ok.test(Integer.valueOf(last.trim()))) {
                return;
            }
            if (System.nanoTime() - deadline > 0) {
                break;
            }
            LockSupport.parkNanos(pause); // polling another process: no event to wait on
            pause = Math.min(2 * pause, 100_000_000);
        }
        throw new HarnessFailure(what + " within " + timeout.toSeconds() + " s (" + verb + " " + last + ")");
    }

    /** CPU time of a node JVM (nanoseconds), as it reports it. */
    private long cpu(ChildJvm node) {
        return Long.parseLong(ask(node, "CPU").trim());
    }

    // ---------------------------------------------------------------- the client

    /**
     * One session of the client: its id once created, the counter it last saw, and the bytes of its next request. A
     * sticky session sends every request to its one port; a non-sticky one sends them round robin over its ports
     * (a balancer without affinity), and then its id may take the route ({@code .jvmRoute}) of each node it moves to.
     *
     * <p>Threading: owned by one client thread.
     */
    static final class ClientSession implements HttpLoad.Target {
        private final int port;
        private final int[] roundRobin;
        private final boolean countWrongAnswers;
        private final String path;
        private long sent;
        String id;
        int counter;
        /** Answers with a lost update or a new session in place of this one, when counted instead of refused. */
        long wrongAnswers;
        byte[] request;

        /** A sticky session: every request to {@code port}. */
        ClientSession(int port) {
            this(port, null, false);
        }

        /**
         * A non-sticky session: request {@code k} goes to {@code roundRobin[k mod length]} (null: every request to
         * {@code port}). With {@code countWrongAnswers}, an answer whose counter is not one more than the last (a
         * lost update, a stale copy) or that carries a new session in place of this one is counted in
         * {@link #wrongAnswers} and followed instead of refused: for a cluster measured whose consistency is not what
         * is tested.
         */
        ClientSession(int port, int[] roundRobin, boolean countWrongAnswers) {
            this(port, roundRobin, countWrongAnswers, PATH);
        }

        /** As above, each request to {@code path} (the servlet of the load's shape). */
        ClientSession(int port, int[] roundRobin, boolean countWrongAnswers, String path) {
            this.port = port;
            this.roundRobin = roundRobin == null ? null : roundRobin.clone();
            this.countWrongAnswers = countWrongAnswers;
            this.path = path;
            this.request = KeepAliveClient.request(BenchJvm.LOOPBACK, port, path, null);
        }

        @Override
        public byte[] request() {
            return request;
        }

        @Override
        public String path() {
            return path;
        }

        @Override
        public String sessionId() {
            return id;
        }

        @Override
        public int port(int loadPort) {
            return roundRobin == null ? port : roundRobin[(int) (sent++ % roundRobin.length)];
        }

        /**
         * Takes {@code r} as this session's next answer: null if it is one (status 200, the counter one more than the
         * last, the session's cookie set by its first answer and never changed), else what is wrong with it.
         */
        @Override
        public String accept(KeepAliveClient.Response r) {
            String who = "session " + (id == null ? "(new)" : id) + " after " + counter;
            if (r.status() != 200) {
                return who + ": status " + r.status() + ", body " + r.body();
            }
            int value;
            try {
                value = Integer.parseInt(r.body().trim());
            } catch (NumberFormatException e) {
                return who + ": body is not a counter: '" + r.body() + "'";
            }
            // Another id than this session's; a non-sticky session's own id may come back with another route.
            boolean replaced = id != null && r.setSessionId() != null && !r.setSessionId().equals(id)
                    && (roundRobin == null || !withoutRoute(r.setSessionId()).equals(withoutRoute(id)));
            if (countWrongAnswers && id != null && (value != counter + 1 || replaced)) {
                wrongAnswers++;
                if (replaced) {
                    id = null; // followed below as a new session
                }
            } else if (value != counter + 1) {
                return who + ": counter " + value + ", expected " + (counter + 1)
                        + (value == 1 ? " (the session was reset)" : " (an update was lost)");
            }
            if (id == null) {
                if (r.setSessionId() == null) {
                    return who + ": the first response set no JSESSIONID cookie";
                }
                id = r.setSessionId();
                request = KeepAliveClient.request(BenchJvm.LOOPBACK, port, path, id);
            } else if (replaced) {
                return who + ": the session id changed to " + r.setSessionId();
            } else if (r.setSessionId() != null && !r.setSessionId().equals(id)) {
                id = r.setSessionId(); // moved to another node: the same id with that node's route
                request = KeepAliveClient.request(BenchJvm.LOOPBACK, port, path, id);
            }
            counter = value;
            return null;
        }

        private static String withoutRoute(String sessionId) {
            int dot = sessionId.indexOf('.');
            return dot < 0 ? sessionId : sessionId.substring(0, dot);
        }
    }

    /**
     * One {@link HttpLoad} run by the harness: started now, a warm-up, then the measured window, with the CPU time of
     * A, B and this JVM sampled over the window.
     */
    private final class Load {
        private final HttpLoad load;

        /**
         * {@code latencies}: every request of the window, in nanoseconds; {@code cpuAMicros}, {@code cpuBMicros}: the
         * CPU time of node A and B over the window per request counted in it (NaN: unknown, or no B).
         */
        record Result(long requests, double seconds, Histogram latencies, List<String> errors, String cpu,
                double cpuAMicros, double cpuBMicros) {
            long percentile(double p) {
                return HttpHarness.percentile(latencies, p);
            }
        }

        Load(HttpLoad load) {
            this.load = load;
        }

        Result run(Duration warmup, Duration measure, ChildJvm a, ChildJvm b) {
            long start = System.nanoTime();
            long windowStart = start + warmup.toNanos();
            long windowEnd = windowStart + measure.toNanos();
            load.start(windowStart, windowEnd);
            String cpu = "";
            double perA = Double.NaN;
            double perB = Double.NaN;
            if (load.awaitUntil(windowStart)) {
                long cpuA0 = cpu(a);
                long cpuB0 = b == null ? 0 : cpu(b);
                long self0 = selfCpu();
                long machine0 = machineBusyNanos();
                if (load.awaitUntil(windowEnd)) {
                    long cpuA = cpu(a) - cpuA0;
                    long cpuB = b == null ? 0 : cpu(b) - cpuB0;
                    long self = selfCpu() - self0;
                    long machine = machineBusyNanos() - machine0;
                    long counted = load.countSoFar();
                    cpu = cpuText(cpuA, b == null ? -1 : cpuB, self, counted);
                    if (counted > 0) {
                        perA = cpuA / 1e3 / counted;
                        perB = b == null ? Double.NaN : cpuB / 1e3 / counted;
                    }
                    if (machine0 >= 0) {
                        // What other processes took from the cores during the window: a run to repeat if large.
                        double cores = Runtime.getRuntime().availableProcessors() * (double) measure.toNanos();
                        cpu += String.format(Locale.ROOT, "; machine busy %.0f%%, others %.0f%%", 100 * machine / cores,
                                100 * Math.max(0, machine - cpuA - cpuB - self) / cores);
                    }
                }
            }
            HttpLoad.Result r;
            try {
                r = load.finish(windowEnd + TimeUnit.MILLISECONDS.toNanos(2L * READ_TIMEOUT_MILLIS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HarnessFailure("interrupted waiting for the client threads", e);
            }
            if (r.repeats() > 0) {
                cpu += "; " + r.repeats() + " request(s) repeated by the client, answered unchanged";
            }
            return new Result(r.requests(), measure.toNanos() / 1e9, r.latencies(), r.errors(), cpu, perA, perB);
        }

    }

    /**
     * The latency at percentile {@code p} of {@code h}: the value of rank ceil(p% of n) in sorted order, to within the
     * histogram's precision ({@link #LATENCY_DIGITS}); 0 if {@code h} is empty.
     */
    static long percentile(Histogram h, double p) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p);
    }

    private static String cpuText(long cpuA, long cpuB, long client, long requests) {
        if (requests <= 0) {
            return "no requests";
        }
        return String.format(Locale.ROOT, "CPU us/request: A %.1f, B %s, client %.1f", cpuA / 1e3 / requests,
                cpuB < 0 ? "-" : String.format(Locale.ROOT, "%.1f", cpuB / 1e3 / requests), client / 1e3 / requests);
    }

    /** CPU time of this JVM (every thread), nanoseconds; -1 where the JVM cannot tell. */
    private static long selfCpu() {
        // The portable API (com.sun.management's bean is not on every JVM): clock-tick resolution, enough for runs
        // of seconds.
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** Busy CPU time of the whole machine (every core, every process; Linux {@code /proc/stat}), or -1. */
    static long machineBusyNanos() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long ticks = 0;
            for (int i = 1; i < Math.min(f.length, 9); i++) {
                if (i != 4 && i != 5) { // idle, iowait
                    ticks += Long.parseLong(f[i]);
                }
            }
            return ticks * 10_000_000L; // USER_HZ is 100 on Linux
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The 1, 5 and 15 minute load averages, or "unknown" off Linux. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " " + f[1] + " " + f[2] + " (" + Runtime.getRuntime().availableProcessors() + " cores)";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private void comment(String text) {
        comments.add(text);
    }

    // ---------------------------------------------------------------- output

    /** The figures of each offered load, {@code e2e.<mode>.load<percent>.<figure>}, in this order. */
    static final List<String> LOAD_FIGURES = List.of("offered_per_s", "p50_us", "p99_us", "p999_us", "max_us");

    /** Every metric this harness writes with {@code loads}, for a run with both sides, both modes, every shape. */
    public static List<String> metrics(List<Integer> loads) {
        return metrics(loads, Shape.ALL);
    }

    static List<String> metrics(List<Integer> loads, List<Shape> shapes) {
        List<String> out = new ArrayList<>();
        for (Shape shape : shapes) {
            for (String mode : List.of("plain", "async", "sync")) {
                String prefix = "e2e." + shape.prefix() + mode + ".";
                out.addAll(List.of(prefix + "requests_per_s", prefix + "p50_us", prefix + "p99_us",
                        prefix + "cpu_a_us"));
                if (!mode.equals("plain")) {
                    out.addAll(List.of(prefix + "cpu_b_us", prefix + "ratio_to_plain"));
                }
                for (int percent : shape.openLoop() ? loads : List.<Integer>of()) {
                    LOAD_FIGURES.forEach(f -> out.add(prefix + "load" + percent + "." + f));
                }
            }
        }
        return out;
    }

    private double median(Variant v, ToDoubleFunction<Measurement> f) {
        return MembershipHarness.median(measurements.stream().filter(m -> m.variant().equals(v))
                .map(m -> f.applyAsDouble(m)).toList());
    }

    /** The figures: metric name to side to value (medians of the rounds). */
    Map<String, Map<String, Double>> figures() {
        Map<String, Map<String, Double>> out = new LinkedHashMap<>();
        for (Variant v : options.variants()) {
            String prefix = v.prefix();
            double rps = median(v, Measurement::requestsPerSecond);
            if (Double.isNaN(rps)) {
                continue;
            }
            double plain = median(Variant.plain(v.shape()), Measurement::requestsPerSecond);
            put(out, prefix + "requests_per_s", v.side(), rps);
            put(out, prefix + "p50_us", v.side(), median(v, m -> m.p50Nanos() / 1e3));
            put(out, prefix + "p99_us", v.side(), median(v, m -> m.p99Nanos() / 1e3));
            putKnown(out, prefix + "cpu_a_us", v.side(), median(v, Measurement::cpuAMicros));
            if (v.kind() != BenchTomcat.Kind.PLAIN) {
                putKnown(out, prefix + "cpu_b_us", v.side(), median(v, Measurement::cpuBMicros));
            }
            if (v.kind() != BenchTomcat.Kind.PLAIN && !Double.isNaN(plain) && plain > 0) {
                put(out, prefix + "ratio_to_plain", v.side(), rps / plain);
            }
            for (int i = 0; i < options.loads().size(); i++) {
                int at = i;
                String load = prefix + "load" + options.loads().get(i) + ".";
                if (measurements.stream().allMatch(m -> !m.variant().equals(v) || m.loads().size() > at)) {
                    put(out, load + "offered_per_s", v.side(), median(v, m -> m.loads().get(at).offeredPerSecond()));
                    put(out, load + "p50_us", v.side(), median(v, m -> m.loads().get(at).p50Nanos() / 1e3));
                    put(out, load + "p99_us", v.side(), median(v, m -> m.loads().get(at).p99Nanos() / 1e3));
                    put(out, load + "p999_us", v.side(), median(v, m -> m.loads().get(at).p999Nanos() / 1e3));
                    put(out, load + "max_us", v.side(), median(v, m -> m.loads().get(at).maxNanos() / 1e3));
                }
            }
        }
        return out;
    }

    private static void put(Map<String, Map<String, Double>> out, String metric, String side, double v) {
        out.computeIfAbsent(metric, k -> new LinkedHashMap<>()).put(side, v);
    }

    /** As {@link #put}, but nothing for an unknown figure (NaN). */
    private static void putKnown(Map<String, Map<String, Double>> out, String metric, String side, double v) {
        if (!Double.isNaN(v)) {
            put(out, metric, side, v);
        }
    }

    /** Harness lines for {@link ResultsTable}, comments first. */
    List<String> harnessLines() {
        List<String> lines = new ArrayList<>();
        comments.forEach(c -> lines.add("# " + c));
        figures().forEach((metric, sides) -> sides.forEach((side, v) -> lines.add(String.format(Locale.ROOT,
                metric.endsWith("ratio_to_plain") ? "%s %s %.4f" : "%s %s %.1f", metric, side, v))));
        return lines;
    }

    private void printTable(PrintStream out) {
        Map<String, Map<String, Double>> f = figures();
        out.printf(Locale.ROOT, "End to end over HTTP, %d threads, %d sessions, keep-alive, all load on node A; medians of %d"
                + " round(s) of %d s (after %d s warm-up)%n", options.threads(), options.sessions(), options.rounds(),
                options.measureSeconds(), options.warmupSeconds());
        out.printf(Locale.ROOT, "%-36s %12s %12s %12s%n", "metric", "plain", "flotilla", "stock");
        for (String metric : metrics(options.loads(), options.shapes())) {
            Map<String, Double> sides = f.getOrDefault(metric, Map.of());
            if (sides.isEmpty()) {
                continue;
            }
            out.printf(Locale.ROOT, "%-36s %12s %12s %12s%n", metric, text(sides.get("plain")), text(sides.get("flotilla")),
                    text(sides.get("stock")));
        }
        out.println("ratio_to_plain: the cluster's requests/s over plain's (aims: Flotilla >= 0.92 async, >= 0.85 sync)");
        out.println("load<N>: an open loop offering N% of that side's peak, latency from each request's due time");
        out.println("cpu_a_us, cpu_b_us: CPU time of node A (serving) and B (backup) per request; jdk.: the JDK's"
                + " HttpClient as the client; graph.: a ~2 KiB object graph set per request instead of one Integer");
        out.println("load average at end: " + loadAverage());
    }

    private static String text(Double v) {
        if (v == null || v.isNaN()) {
            return "-";
        }
        return Math.abs(v) < 10 ? String.format(Locale.ROOT, "%.3f", v) : String.format(Locale.ROOT, "%.0f", v);
    }
}
