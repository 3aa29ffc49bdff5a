package io.flotilla.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * State transfer harness: the time a joining node takes to hold the N sessions of a running one, Flotilla
 * ({@code FlotillaCluster}) against stock Tomcat ({@code SimpleTcpCluster} + {@code DeltaManager}), in one run, on
 * loopback.
 *
 * <p>Each measurement uses two fresh child JVMs ({@link StateTransferNode}, {@value #CHILD_HEAP} and
 * {@code -XX:+UseG1GC} each, the same flags for both sides), so neither side's heap, JIT or garbage from an earlier
 * run weighs on the other: node A (the owner) starts alone, creates N sessions with a {@code "user"} String and a
 * {@code "count"} Integer through its manager and ends a request on each through its cluster's replication valve;
 * then node B (the joiner) starts, with both nodes listed as static members on 127.0.0.1 (receiver ports free at run
 * time), and measures from just before its Tomcat start:
 * <ul>
 *   <li>{@code statetransfer.<N>.ms}: until B holds all N sessions (polled every millisecond during the start);
 *   <li>{@code statetransfer.<N>.start_ms}: until B's Tomcat start returned, i.e. until its web application serves
 *       requests. Stock's {@code DeltaManager} blocks the context start until {@code GET_ALL_SESSIONS} is answered
 *       (polling every 100 ms); {@code FlotillaManager} waits for its state transfer too, up to
 *       {@code stateTransferTimeout}. The harness prints, per side, whether the start returned only after every
 *       session was there (blocked) as a {@code #} note;
 *   <li>{@code statetransfer.<N>.bytes_per_session}: every byte B's cluster transport received from its start until
 *       it held all N and was checked (frames with their headers, membership messages included, a few hundred bytes
 *       in all), divided by N.
 * </ul>
 * With {@code --load R} the owner runs R requests a second (one at a time, each setting an attribute of a session
 * drawn at random, through the valve) from its READY until the end, so B's transfer runs while A replicates changes
 * to the sessions it streams; the figures are then named {@code statetransfer.<N>.load.*}, and Flotilla's side adds
 * {@code .streamed_per_session} (sessions its state transfers received, restarts included, divided by N: 1.0 when
 * every session was streamed once) and {@code .attempts} (sources asked: 1 when the transfer never started again).
 * B then checks every session (N sessions, each {@code count} exactly once, {@code user} matching): a wrong or
 * missing session fails the run (exit 1) with the reason. One stock failure is repeated instead, up to
 * {@value #ATTEMPTS} tries, and noted: a joiner whose {@code DeltaManager} never asked for the sessions because no
 * member was listed yet when its context started ({@link NoStateRequest}). {@code <N>} is written {@code 10k},
 * {@code 100k} for multiples of 1,000. With {@code --rounds} above 1 each figure is the median.
 *
 * <p>Usage (the children get {@code -Djava.net.preferIPv4Stack=true}, which stock Tribes needs on 127.0.0.1; this JVM
 * only picks free ports):
 * <pre>
 * java -Xmx128m -cp benchmarks/harness/target/harness.jar \
 *     io.flotilla.bench.StateTransferHarness [--sessions 10000,100000] [--rounds 1] [--impl flotilla|stock] \
 *     [--load 0] [--out statetransfer.txt] [-v]
 * </pre>
 * ({@code -v}: the nodes' own INFO logs on stderr.)
 * It prints a table and writes {@code --out} as harness lines ({@code <metric> <flotilla|stock> <value>} and
 * {@code #} notes), the input {@link ResultsTable} takes with {@code --harness}. {@code ./bench.sh} runs it after
 * JMH ({@code STATETRANSFER=0} skips it). Every child JVM is stopped by its PID ({@link ChildJvm#close}), and halts
 * by itself after 15 minutes whatever happens.
 *
 * <p>Threading: a program; one main thread (and one output reader per child).
 */
public final class StateTransferHarness {
    /** Heap of each child: 100,000 sessions, and stock's serialized copies of them, fit with room to spare. */
    static final String CHILD_HEAP = "-Xmx1g";
    private static final Duration OWNER_READY = Duration.ofMinutes(5);
    private static final Duration JOIN_TIMEOUT = Duration.ofMinutes(5);
    /** Tries of one measurement when stock's joiner never asked for the sessions (see {@link NoStateRequest}). */
    private static final int ATTEMPTS = 3;

    private final PrintStream log = System.err;
    private final Map<String, List<Double>> figures = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    private final boolean verbose;
    /** The owner's requests a second during the transfer; 0: none. */
    private final int load;

    private StateTransferHarness(boolean verbose, int load) {
        this.verbose = verbose;
        this.load = load;
    }

    public static void main(String[] args) throws IOException {
        System.exit(run(args));
    }

    /**
     * Runs the harness (the arguments of {@link #main}) in this JVM, the nodes in child JVMs.
     *
     * @return the exit status: 0 when every measurement ran and checked, 1 when one failed, 2 for bad arguments
     */
    public static int run(String... args) throws IOException {
        List<Integer> counts = List.of(10_000, 100_000);
        List<String> impls = List.of("flotilla", "stock");
        int rounds = 1;
        int load = 0;
        Path out = null;
        boolean verbose = false;
        for (int i = 0; i < args.length; i += 2) {
            if (args[i].equals("-v")) {
                verbose = true;
                i--; // no value
                continue;
            }
            String v = i + 1 < args.length ? args[i + 1] : null;
            if (v == null) {
                return usage("missing value after " + args[i]);
            }
            switch (args[i]) {
                case "--sessions" -> {
                    List<Integer> c = new ArrayList<>();
                    for (String s : v.split(",")) {
                        c.add(Integer.parseInt(s.trim()));
                    }
                    counts = c;
                }
                case "--rounds" -> rounds = Integer.parseInt(v);
                case "--load" -> load = Integer.parseInt(v);
                case "--impl" -> impls = List.of(v);
                case "--out" -> out = Path.of(v);
                default -> {
                    return usage("unknown option " + args[i]);
                }
            }
        }
        if (load < 0) {
            return usage("--load must be 0 or more requests a second, not " + load);
        }
        StateTransferHarness h = new StateTransferHarness(verbose, load);
        boolean failed = false;
        for (int n : counts) {
            for (int r = 1; r <= rounds; r++) {
                for (String impl : impls) {
                    h.log.printf(Locale.ROOT, "statetransfer: %s, %,d sessions, round %d/%d%n", impl, n, r, rounds);
                    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
                        try {
                            h.measure(impl, n);
                            break;
                        } catch (NoStateRequest e) {
                            h.notes.add("# statetransfer." + label(n) + " " + impl + ", round " + r + ", attempt "
                                    + attempt + ": " + e.getMessage() + (attempt < ATTEMPTS ? "; round repeated" : ""));
                            h.log.println("statetransfer: " + impl + " " + n + ": " + e.getMessage());
                            if (attempt == ATTEMPTS) {
                                failed = true;
                            }
                        } catch (RuntimeException | AssertionError e) {
                            failed = true;
                            h.log.println("statetransfer: " + impl + " " + n + " FAILED: " + e.getMessage());
                            h.notes.add("# statetransfer." + label(n) + " " + impl + " FAILED: " + e.getMessage());
                            break;
                        }
                    }
                }
            }
        }
        List<String> lines = h.harnessLines();
        lines.forEach(System.out::println);
        if (out != null) {
            Files.write(out, lines, StandardCharsets.UTF_8);
            System.out.println("Wrote " + out);
        }
        return failed ? 1 : 0;
    }

    private static int usage(String why) {
        System.err.println(why);
        System.err.println("usage: StateTransferHarness [--sessions 10000,100000] [--rounds 1] "
                + "[--impl flotilla|stock] [--load 0] [--out file] [-v]");
        return 2;
    }

    /** {@code 10k} for 10,000; plain digits when not a multiple of 1,000. */
    static String label(int n) {
        return n % 1000 == 0 ? n / 1000 + "k" : Integer.toString(n);
    }

    private void measure(String impl, int n) {
        int portA = BenchTomcat.freePort();
        int portB = BenchTomcat.freePort();
        String members = portA + "," + portB;
        try (ChildJvm owner = ChildJvm.start("owner " + impl, command("owner", impl, n, portA, members, verbose, load))) {
            ChildJvm.Line ready = owner.await("READY", l -> l.startsWith("READY ") || l.startsWith("FAILED "),
                    OWNER_READY);
            if (!ready.text().startsWith("READY ")) {
                throw new IllegalStateException("owner: " + ready.text());
            }
            log.printf(Locale.ROOT, "statetransfer: owner %s created %,d sessions in %s ms%n", impl, n,
                    ready.text().split(" ")[2]);
            List<String> joinerCommand = command("joiner", impl, n, portB, members, verbose, 0);
            try (ChildJvm joiner = ChildJvm.start("joiner " + impl, joinerCommand)) {
                ChildJvm.Line result = joiner.await("RESULT", l -> l.startsWith("RESULT ") || l.startsWith("FAILED "),
                        JOIN_TIMEOUT.plusMinutes(1));
                if (result.text().startsWith("FAILED " + StateTransferNode.NO_REQUEST)) {
                    throw new NoStateRequest(result.text().substring(("FAILED " + StateTransferNode.NO_REQUEST)
                            .length()).trim());
                }
                if (!result.text().startsWith("RESULT ")) {
                    throw new IllegalStateException("joiner: " + result.text());
                }
                String[] f = result.text().split(" ");
                double allMs = Long.parseLong(f[1]) / 1e6;
                double startMs = Long.parseLong(f[2]) / 1e6;
                double bytesPerSession = Long.parseLong(f[3]) / (double) n;
                String key = "statetransfer." + label(n) + (load > 0 ? ".load" : "");
                add(key + ".ms", impl, allMs);
                add(key + ".start_ms", impl, startMs);
                add(key + ".bytes_per_session", impl, bytesPerSession);
                long streamed = Long.parseLong(f[5]);
                long attempts = Long.parseLong(f[6]);
                if (streamed >= 0) {
                    add(key + ".streamed_per_session", impl, streamed / (double) n);
                    add(key + ".attempts", impl, attempts);
                }
                boolean blocked = startMs >= allMs;
                notes.add(String.format(Locale.ROOT, "# %s %s: the joining web application's start %s (start "
                        + "returned at %.0f ms, all %,d sessions held at %.0f ms)", key, impl,
                        blocked ? "was blocked until the transfer ended" : "returned before the transfer ended",
                        startMs, n, allMs));
                log.printf(Locale.ROOT, "statetransfer: %s %,d%s: all held %.0f ms, start returned %.0f ms, %.1f bytes "
                        + "per session, %d sessions streamed, %d attempt(s)%n", impl, n,
                        load > 0 ? " under " + load + " requests/s" : "", allMs, startMs, bytesPerSession, streamed,
                        attempts);
            }
        }
    }

    /**
     * Stock's joiner never asked for the sessions: its {@code DeltaManager} asks once, when its context starts, and
     * only if the channel lists a member by then; {@code StaticMembershipInterceptor} adds its members on Tribes'
     * utility executor, which on a busy machine can come later (the joiner then stays empty for good). Not a wrong
     * transfer: the measurement is repeated in fresh JVMs and the harness output notes it.
     */
    static final class NoStateRequest extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NoStateRequest(String message) {
            super(message);
        }
    }

    private static List<String> command(String role, String impl, int n, int self, String members,
            boolean verbose, int load) {
        return List.of(ChildJvm.javaBinary(), CHILD_HEAP, "-XX:+UseG1GC", BenchJvm.IPV4, "-cp", ChildJvm.classPath(),
                StateTransferNode.class.getName(), "role=" + role, "impl=" + impl, "sessions=" + n, "self=" + self,
                "members=" + members, "timeout=" + JOIN_TIMEOUT.toSeconds(),
                "lifetime=" + TimeUnit.MINUTES.toSeconds(15), "verbose=" + verbose, "load=" + load);
    }

    private void add(String metric, String impl, double v) {
        figures.computeIfAbsent(metric + " " + impl, k -> new ArrayList<>()).add(v);
    }

    /** Harness lines: medians as {@code <metric> <impl> <value>}, then the notes. */
    List<String> harnessLines() {
        List<String> lines = new ArrayList<>();
        lines.add("# StateTransferHarness: joining node B until it holds A's N sessions; child JVMs " + CHILD_HEAP
                + (load > 0 ? "; A runs " + load + " requests/s meanwhile" : ""));
        for (Map.Entry<String, List<Double>> e : figures.entrySet()) {
            List<Double> v = new ArrayList<>(e.getValue());
            v.sort(null);
            double median = v.size() % 2 == 1 ? v.get(v.size() / 2)
                    : (v.get(v.size() / 2 - 1) + v.get(v.size() / 2)) / 2;
            lines.add(e.getKey() + " " + String.format(Locale.ROOT, "%.1f", median));
        }
        lines.addAll(notes);
        return lines;
    }
}
