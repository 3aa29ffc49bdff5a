package io.flotilla.bench;

import io.flotilla.Delivery;
import io.flotilla.Node;
import io.flotilla.NodeConfig;
import io.flotilla.membership.MulticastMembership;
import io.flotilla.membership.MulticastMembershipConfig;
import io.flotilla.transport.netty.NettyTransport;
import io.flotilla.transport.netty.NettyTransportConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.tribes.ByteMessage;
import org.apache.catalina.tribes.Channel;
import org.apache.catalina.tribes.ChannelException;
import org.apache.catalina.tribes.Member;
import org.apache.catalina.tribes.MembershipListener;
import org.apache.catalina.tribes.group.GroupChannel;

/**
 * Membership harness: Flotilla's multicast membership + Netty transport against stock Tomcat's {@code McastService} +
 * {@code TcpFailureDetector} in a {@code GroupChannel}, side by side in one run, on loopback.
 *
 * <p>Each side has an observer member in this JVM and, per scenario, a fresh member in a child JVM
 * ({@link ChildNode}, {@code -Xmx128m}) that the harness starts, kills, stops or closes by its PID. Both sides use the
 * same settings: Tomcat's {@code frequency} 500 ms and {@code dropTime} 3000 ms, TCP verification
 * {@code connectTimeout} 100 ms (stock: {@code TcpFailureDetector.connectTimeout}), receivers on 127.0.0.1 (free
 * ports), multicast 228.0.0.4 on the loopback interface with TTL 0 (a free port per side). Scenarios and metrics
 * (milliseconds, lower is better; the median of {@code --rounds} rounds):
 * <ul>
 *   <li>{@code join.ms}: from the child's {@code start()} call until it and the observer list each other (the
 *       larger of the next two);
 *   <li>{@code join.start.ms}: how long the child's {@code start()} takes to return;
 *   <li>{@code join.seen.ms}: from the child's {@code start()} call until the observer lists it;
 *   <li>{@code join.sees.ms}: from the child's {@code start()} call until the child lists the observer (the two
 *       JVMs' {@link System#nanoTime()} are the same monotonic clock on Linux);
 *   <li>{@code join.cds.ms}, {@code join.cds.start.ms}: the same join by a child whose JVM maps the classes an earlier
 *       child of the same side loaded from a class-data archive (AppCDS: {@code -XX:ArchiveClassesAtExit} once before
 *       the rounds, then {@code -XX:SharedArchiveFile}), what an operator gets who archives the server's classes;
 *   <li>{@code detect.kill9.idle.ms}: {@code kill -9} of the child (no messages flowing) until the observer removes it;
 *   <li>{@code detect.kill9.traffic.ms}: the same while the observer sends it 1 KiB messages back to back, each
 *       waiting for the receiver's acknowledgement (Flotilla {@code RECEIVED}, stock {@code USE_ACK});
 *   <li>{@code kill9.exit.idle.ms}, {@code kill9.exit.traffic.ms}: the kill until the killed child's process ended
 *       ({@link Process#onExit}): the operating system's teardown of the killed JVM, part of the two figures above;
 *   <li>{@code detect.hung.ms}: {@code SIGSTOP} of the child until the observer removes it (resumed afterwards);
 *       capped at {@code dropTime} + 10 s, and a side that never removes it has no figure but a note;
 *   <li>{@code leave.graceful.ms}: from the {@code CLOSE} command written to the child's stdin until the observer
 *       removes it.
 * </ul>
 *
 * <p>Usage (the JVM needs {@code -Djava.net.preferIPv4Stack=true} for stock Tribes on 127.0.0.1):
 * <pre>
 * java -Xmx256m -Djava.net.preferIPv4Stack=true -cp benchmarks/harness/target/harness.jar \
 *     io.flotilla.bench.MembershipHarness [--rounds 3] [--out membership-harness.txt] [--csv membership.csv] \
 *     [--impl flotilla|stock] [-v]
 * </pre>
 * ({@code --impl}: one side only; {@code -v}: the members' own INFO logs on stderr).
 * It prints a table, writes {@code --out} as harness lines ({@code <metric> <flotilla|stock> <value>}, the input
 * {@link ResultsTable} takes with {@code --harness}) and, with {@code --csv}, the rows as
 * {@code metric,unit,better,flotilla,stock}. {@code ./bench.sh} runs it after JMH. It needs multicast on {@code lo}
 * (Linux) and exits with 2 if a scenario could not run at all.
 *
 * <p>Threading: a program; one main thread, plus a traffic thread during the traffic scenario.
 */
public final class MembershipHarness {
    static final Duration FREQUENCY = Duration.ofMillis(500);
    static final Duration DROP_TIME = Duration.ofMillis(3000);
    static final Duration CONNECT_TIMEOUT = Duration.ofMillis(100);
    private static final Duration PATIENCE = Duration.ofSeconds(30);
    private static final Duration DETECT_CAP = DROP_TIME.plusSeconds(10);
    /** Traffic runs this long before the kill, so connections and the JIT are warm. */
    private static final Duration TRAFFIC_WARMUP = Duration.ofMillis(500);

    /** The metrics, in print order. */
    static final List<String> METRICS = List.of("join.ms", "join.start.ms", "join.seen.ms", "join.sees.ms",
            "join.cds.ms", "join.cds.start.ms",
            "detect.kill9.idle.ms", "detect.kill9.traffic.ms", "kill9.exit.idle.ms", "kill9.exit.traffic.ms",
            "detect.hung.ms", "leave.graceful.ms");

    private final PrintStream log = System.err;
    private final Map<String, Map<String, List<Double>>> figures = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();
    /** Per implementation, the class-data archive of {@link #writeArchive}. */
    private final Map<String, Path> archives = new LinkedHashMap<>();

    private MembershipHarness() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = 3;
        List<String> impls = List.of("flotilla", "stock");
        boolean verbose = false;
        Path out = null;
        Path csv = null;
        for (int i = 0; i < args.length; i++) {
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--rounds" -> rounds = Integer.parseInt(require(v, "--rounds"));
                case "--out" -> out = Path.of(require(v, "--out"));
                case "--csv" -> csv = Path.of(require(v, "--csv"));
                case "--impl" -> impls = List.of(require(v, "--impl"));
                case "-v" -> {
                    verbose = true;
                    i--; // no value
                }
                default -> usage("unknown option " + args[i]);
            }
            i++;
        }
        if (!"true".equals(System.getProperty("java.net.preferIPv4Stack"))) {
            usage("run with -Djava.net.preferIPv4Stack=true (stock Tribes cannot use 127.0.0.1 otherwise)");
        }
        Logger root = Logger.getLogger("");
        Level level = verbose ? Level.INFO : Level.SEVERE; // both log every join and leave; the harness prints its own
        root.setLevel(level);
        for (var h : root.getHandlers()) {
            h.setLevel(level);
        }
        MembershipHarness h = new MembershipHarness();
        Path cds = Files.createTempDirectory("membership-cds");
        try {
            for (String impl : impls) {
                h.writeArchive(impl, cds);
            }
            h.rounds(rounds, impls);
        } finally {
            for (Path p : h.archives.values()) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(cds);
        }
        List<String> lines = h.harnessLines();
        h.printTable(System.out);
        if (out != null) {
            Files.write(out, lines, StandardCharsets.UTF_8);
            System.out.println("Wrote " + out);
        }
        if (csv != null) {
            Files.write(csv, h.csvLines(), StandardCharsets.UTF_8);
            System.out.println("Wrote " + csv);
        }
        boolean missing = h.figures.isEmpty();
        System.exit(missing ? 2 : 0);
    }

    private void rounds(int rounds, List<String> impls) throws IOException {
        for (int r = 1; r <= rounds; r++) {
            for (String impl : impls) {
                log.printf(Locale.ROOT, "round %d/%d, %s%n", r, rounds, impl);
                round(impl);
            }
        }
    }

    private static String require(String v, String flag) {
        if (v == null) {
            usage("missing value after " + flag);
        }
        return v;
    }

    private static void usage(String why) {
        System.err.println(why);
        System.err.println("usage: java -Djava.net.preferIPv4Stack=true -cp harness.jar "
                + "io.flotilla.bench.MembershipHarness [--rounds N] [--out harness.txt] [--csv out.csv] [--impl flotilla|stock] [-v]");
        System.exit(2);
    }

    // ---------------------------------------------------------------- one round

    /** The observer's side of one implementation. */
    private interface Observer extends AutoCloseable {
        /** parent nanoTime when the member at {@code address} was added, at or after {@code since}; -1 if not. */
        long awaitAdded(String address, long since, Duration timeout);

        /** parent nanoTime when it was removed, at or after {@code since}; -1 if not within {@code timeout}. */
        long awaitRemoved(String address, long since, Duration timeout);

        /** Starts sending to the member at {@code address} back to back, acknowledged; returns the stop switch. */
        AtomicBoolean traffic(String address, AtomicLong sent);

        @Override
        void close();
    }

    private void round(String impl) throws IOException {
        int mcastPort = freeUdpPort();
        String cluster = "harness-" + ProcessHandle.current().pid();
        try (Observer observer = observer(impl, cluster, mcastPort)) {
            // Join both ways, then kill -9 of that (idle) member.
            try (ChildJvm child = startChild(impl, cluster, mcastPort)) {
                String address = child.address();
                if (!join(impl, "join", child, observer)) {
                    return;
                }
                settle(observer, address);
                long killed = System.nanoTime();
                CompletableFuture<Long> exited = exitTime(child);
                child.process().destroyForcibly();
                detected(impl, "detect.kill9.idle.ms", observer.awaitRemoved(address, killed, DETECT_CAP), killed);
                exited(impl, "kill9.exit.idle.ms", exited, killed);
                child.waitFor(Duration.ofSeconds(5));
            }
            // kill -9 under traffic.
            try (ChildJvm child = joinedChild(impl, cluster, mcastPort, observer)) {
                String address = child.address();
                AtomicLong sent = new AtomicLong();
                AtomicBoolean stop = observer.traffic(address, sent);
                try {
                    long warm = System.nanoTime() + TRAFFIC_WARMUP.toNanos();
                    while (System.nanoTime() - warm < 0 || sent.get() < 100) {
                        if (System.nanoTime() - warm > PATIENCE.toNanos()) {
                            note(impl + ": fewer than 100 messages sent in " + PATIENCE.toSeconds() + " s");
                            break;
                        }
                        LockSupport.parkNanos(1_000_000);
                    }
                    long killed = System.nanoTime();
                    CompletableFuture<Long> exited = exitTime(child);
                    child.process().destroyForcibly();
                    detected(impl, "detect.kill9.traffic.ms", observer.awaitRemoved(address, killed, DETECT_CAP),
                            killed);
                    exited(impl, "kill9.exit.traffic.ms", exited, killed);
                } finally {
                    stop.set(true);
                    child.waitFor(Duration.ofSeconds(5)); // killed: reaped before close() looks at it
                }
                log.printf(Locale.ROOT, "  %s traffic: %d messages acknowledged before the kill%n", impl, sent.get());
            }
            // A hung member (SIGSTOP), resumed afterwards.
            try (ChildJvm child = joinedChild(impl, cluster, mcastPort, observer)) {
                String address = child.address();
                long stopped = System.nanoTime();
                child.signal("STOP");
                detected(impl, "detect.hung.ms", observer.awaitRemoved(address, stopped, DETECT_CAP), stopped);
                child.signal("CONT");
            }
            // Graceful leave.
            try (ChildJvm child = joinedChild(impl, cluster, mcastPort, observer)) {
                String address = child.address();
                long asked = System.nanoTime();
                child.command("CLOSE");
                detected(impl, "leave.graceful.ms", observer.awaitRemoved(address, asked, PATIENCE), asked);
                child.waitFor(Duration.ofSeconds(10));
            }
            // Join again, the child's classes mapped from the archive of an earlier run (AppCDS).
            Path archive = archives.get(impl);
            if (archive != null) {
                try (ChildJvm child = startChild(impl, cluster, mcastPort, List.of("-XX:SharedArchiveFile=" + archive,
                        "-Xshare:on"))) {
                    join(impl, "join.cds", child, observer);
                }
            }
        }
    }

    /**
     * Records {@code prefix.start.ms}, {@code .seen.ms}, {@code .sees.ms} and {@code prefix.ms} of the child that
     * just started; false (and a note) when the observer did not see it.
     */
    private boolean join(String impl, String prefix, ChildJvm child, Observer observer) {
        String[] ready = child.find(l -> l.startsWith("READY ")).text().split(" ");
        long startBegin = Long.parseLong(ready[4]);
        long startEnd = Long.parseLong(ready[5]);
        record(impl, prefix + ".start.ms", (startEnd - startBegin) / 1e6);
        long seen = observer.awaitAdded(child.address(), startBegin, PATIENCE);
        if (seen < 0) {
            note(impl + ": the observer did not see the child join within " + PATIENCE.toSeconds() + " s");
            return false;
        }
        record(impl, prefix + ".seen.ms", (seen - startBegin) / 1e6);
        ChildJvm.Line sees = child.await("the child sees the observer", l -> l.startsWith("EVENT JOINED "), PATIENCE);
        String[] f = sees.text().split(" ");
        long seesAt = Long.parseLong(f[f.length - 1]);
        record(impl, prefix + ".sees.ms", (seesAt - startBegin) / 1e6);
        record(impl, prefix + ".ms", (Math.max(seen, seesAt) - startBegin) / 1e6);
        return true;
    }

    /**
     * Writes the class-data archive {@code join.cds.ms} starts its children with: a child joins an observer and
     * leaves, and its JVM dumps the classes it loaded when it exits ({@code -XX:ArchiveClassesAtExit}, JDK 13+).
     * Not measured. A note, and no {@code join.cds} figures, when the archive cannot be written.
     */
    private void writeArchive(String impl, Path dir) throws IOException {
        Path archive = dir.resolve(impl + ".jsa");
        int mcastPort = freeUdpPort();
        String cluster = "harness-cds-" + ProcessHandle.current().pid();
        try (Observer observer = observer(impl, cluster, mcastPort);
                ChildJvm child = startChild(impl, cluster, mcastPort, List.of("-XX:ArchiveClassesAtExit=" + archive))) {
            if (observer.awaitAdded(child.address(), 0, PATIENCE) >= 0) {
                child.await("the child sees the observer", l -> l.startsWith("EVENT JOINED "), PATIENCE);
            }
            child.command("CLOSE");
            child.waitFor(PATIENCE);
        }
        if (Files.exists(archive) && Files.size(archive) > 0) {
            archives.put(impl, archive);
        } else {
            note(impl + ": no class-data archive was written to " + archive + ": no join.cds figures");
        }
    }

    /** Waits until the freshly joined member has been in the view for a heartbeat or two (connections settled). */
    private static void settle(Observer observer, String address) {
        long until = System.nanoTime() + 2 * FREQUENCY.toNanos();
        // A removal here would be a false one; it is waited for, not slept through, so it shows at once.
        long removed = observer.awaitRemoved(address, System.nanoTime(), Duration.ofNanos(until - System.nanoTime()));
        if (removed >= 0) {
            throw new IllegalStateException("the member " + address + " was removed while idle");
        }
    }

    private static Observer observer(String impl, String cluster, int mcastPort) {
        return impl.equals("flotilla") ? new FlotillaObserver(cluster, mcastPort) : new StockObserver(mcastPort);
    }

    private ChildJvm startChild(String impl, String cluster, int mcastPort) {
        return startChild(impl, cluster, mcastPort, List.of());
    }

    private ChildJvm startChild(String impl, String cluster, int mcastPort, List<String> jvmFlags) {
        List<String> args = new ArrayList<>(List.of("impl=" + impl, "cluster=" + cluster, "name=child",
                "mcastPort=" + mcastPort, "ttl=0", "address=" + BenchJvm.LOOPBACK,
                "bind=" + (impl.equals("flotilla") ? "lo" : BenchJvm.LOOPBACK), "frequency=" + FREQUENCY.toMillis(),
                "dropTime=" + DROP_TIME.toMillis(), "connectTimeout=" + CONNECT_TIMEOUT.toMillis(), "lifetime=300"));
        return ChildJvm.startNode(impl + "-child", args, PATIENCE, jvmFlags);
    }

    private ChildJvm joinedChild(String impl, String cluster, int mcastPort, Observer observer) {
        ChildJvm child = startChild(impl, cluster, mcastPort);
        String address = child.address();
        if (observer.awaitAdded(address, 0, PATIENCE) < 0) {
            child.close();
            throw new IllegalStateException(impl + ": the observer did not see " + address + " join");
        }
        child.await("the child sees the observer", l -> l.startsWith("EVENT JOINED "), PATIENCE);
        settle(observer, address);
        return child;
    }

    private void detected(String impl, String metric, long at, long since) {
        if (at < 0) {
            note(impl + " " + metric + ": not removed within " + DETECT_CAP.toMillis() + " ms");
        } else {
            record(impl, metric, (at - since) / 1e6);
        }
    }

    /** When the child's process ended (its reaper saw it), taken before the kill so the stamp is the reaper's. */
    private static CompletableFuture<Long> exitTime(ChildJvm child) {
        return child.process().onExit().thenApply(p -> System.nanoTime());
    }

    /** Records how long the killed child's process took to end: the part of a detection figure that is the OS's. */
    private void exited(String impl, String metric, CompletableFuture<Long> exited, long since) {
        try {
            record(impl, metric, (exited.get(5, TimeUnit.SECONDS) - since) / 1e6);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            note(impl + " " + metric + ": the killed child did not end within 5 s (" + e + ")");
        }
    }

    private void record(String impl, String metric, double millis) {
        figures.computeIfAbsent(metric, k -> new LinkedHashMap<>()).computeIfAbsent(impl, k -> new ArrayList<>())
                .add(millis);
        log.printf(Locale.ROOT, "  %-24s %-8s %10.1f ms%n", metric, impl, millis);
    }

    private void note(String text) {
        notes.add(text);
        log.println("  NOTE " + text);
    }

    // ---------------------------------------------------------------- output

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private double figure(String metric, String impl) {
        return median(figures.getOrDefault(metric, Map.of()).getOrDefault(impl, List.of()));
    }

    /** Harness lines for {@link ResultsTable}: one per metric and side with a figure; notes as comments. */
    List<String> harnessLines() {
        List<String> lines = new ArrayList<>();
        lines.add("# MembershipHarness: frequency " + FREQUENCY.toMillis() + " ms, dropTime " + DROP_TIME.toMillis()
                + " ms, connectTimeout " + CONNECT_TIMEOUT.toMillis() + " ms; medians in ms");
        for (String m : METRICS) {
            for (String impl : List.of("flotilla", "stock")) {
                double v = figure(m, impl);
                if (!Double.isNaN(v)) {
                    lines.add(String.format(Locale.ROOT, "%s %s %.1f", m, impl, v));
                }
            }
        }
        groupedNotes().forEach(n -> lines.add("# " + n));
        return lines;
    }

    List<String> csvLines() {
        List<String> lines = new ArrayList<>();
        lines.add(ResultsTable.CSV_HEADER);
        for (String m : METRICS) {
            lines.add(String.format(Locale.ROOT, "%s,ms,lower,%s,%s", m, csvValue(figure(m, "flotilla")),
                    csvValue(figure(m, "stock"))));
        }
        return lines;
    }

    private static String csvValue(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.1f", v);
    }

    private void printTable(PrintStream out) {
        out.printf(Locale.ROOT, "Membership, Flotilla vs stock Tomcat (McastService + TcpFailureDetector), loopback, frequency %d ms,"
                + " dropTime %d ms, connectTimeout %d ms; median ms of each figure's runs%n", FREQUENCY.toMillis(),
                DROP_TIME.toMillis(), CONNECT_TIMEOUT.toMillis());
        out.printf(Locale.ROOT, "%-26s %12s %12s %9s   %s%n", "metric", "flotilla", "stock", "ratio", "runs (flotilla | stock)");
        for (String m : METRICS) {
            double f = figure(m, "flotilla");
            double s = figure(m, "stock");
            out.printf(Locale.ROOT, "%-26s %12s %12s %9s   %s | %s%n", m, text(f), text(s),
                    Double.isNaN(f) || Double.isNaN(s) || f <= 0 ? "-" : String.format(Locale.ROOT, "%.1fx", s / f),
                    runs(m, "flotilla"), runs(m, "stock"));
        }
        groupedNotes().forEach(n -> out.println("note: " + n));
    }

    /** Each distinct note once, with how many times it happened. */
    private List<String> groupedNotes() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        notes.forEach(n -> counts.merge(n, 1, Integer::sum));
        List<String> out = new ArrayList<>();
        counts.forEach((n, c) -> out.add(c == 1 ? n : n + " (" + c + " times)"));
        return out;
    }

    private String runs(String metric, String impl) {
        List<Double> v = figures.getOrDefault(metric, Map.of()).getOrDefault(impl, List.of());
        return Arrays.toString(v.stream().mapToLong(Math::round).toArray());
    }

    private static String text(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.1f", v);
    }

    static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    // ---------------------------------------------------------------- observers

    /** A Flotilla node in this JVM with the harness settings. */
    private static final class FlotillaObserver implements Observer {
        private final EventLog events = new EventLog();
        private final Node node;

        FlotillaObserver(String cluster, int mcastPort) {
            node = Node.builder()
                    .config(NodeConfig.builder().clusterName(cluster).memberName("observer").build())
                    .transport(NettyTransport.factory(NettyTransportConfig.builder().address(BenchJvm.LOOPBACK)
                            .port(0).ioThreads(1).build()))
                    .membership(MulticastMembership.factory(MulticastMembershipConfig.builder().port(mcastPort)
                            .bind("lo").ttl(0).frequency(FREQUENCY).dropTime(DROP_TIME)
                            .connectTimeout(CONNECT_TIMEOUT).build()))
                    .onMembership(events)
                    .start();
        }

        @Override
        public long awaitAdded(String address, long since, Duration timeout) {
            EventLog.Seen s = events.await(since, EventLog.joined().and(EventLog.about(address)), timeout.toNanos());
            return s == null ? -1 : s.nanos();
        }

        @Override
        public long awaitRemoved(String address, long since, Duration timeout) {
            EventLog.Seen s = events.await(since, EventLog.anyLeft().and(EventLog.about(address)),
                    timeout.toNanos());
            return s == null ? -1 : s.nanos();
        }

        @SuppressWarnings("checkstyle:fullyQualifiedName") // Tribes' Member is imported
        @Override
        public AtomicBoolean traffic(String address, AtomicLong sent) {
            io.flotilla.Member to = node.view().members().stream()
                    .filter(m -> (m.host() + ":" + m.port()).equals(address)).findFirst()
                    .orElseThrow(() -> new IllegalStateException(address + " is not in " + node.view()));
            byte[] payload = new byte[1024];
            return sendUntilFailure("harness-flotilla-traffic", sent, () -> node.send(to, 1,
                    ByteBuffer.wrap(payload), Delivery.RECEIVED).toCompletableFuture().get(5, TimeUnit.SECONDS));
        }

        @Override
        public void close() {
            node.close();
        }
    }

    /** A stock Tribes channel in this JVM with the harness settings. */
    private static final class StockObserver implements Observer {
        private final GroupChannel channel;
        private final List<Object[]> events = new ArrayList<>(); // {Boolean added, String address, Long nanos, Member}

        StockObserver(int mcastPort) {
            channel = ChildNode.newStockChannel(BenchJvm.LOOPBACK, mcastPort, "228.0.0.4", BenchJvm.LOOPBACK, 0,
                    FREQUENCY, DROP_TIME, CONNECT_TIMEOUT, "");
            channel.addMembershipListener(new MembershipListener() {
                @Override
                public void memberAdded(Member m) {
                    add(true, m);
                }

                @Override
                public void memberDisappeared(Member m) {
                    add(false, m);
                }
            });
            try {
                channel.start(Channel.DEFAULT);
            } catch (ChannelException e) {
                throw new IllegalStateException("stock observer did not start", e);
            }
        }

        private synchronized void add(boolean added, Member m) {
            events.add(new Object[] {added, ChildNode.stockAddress(m), System.nanoTime(), m});
            notifyAll();
        }

        private synchronized Object[] await(boolean added, String address, long since, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (Object[] e : events) {
                    if ((Boolean) e[0] == added && e[1].equals(address) && (Long) e[2] - since >= 0) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return null;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }

        @Override
        public long awaitAdded(String address, long since, Duration timeout) {
            Object[] e = await(true, address, since, timeout);
            return e == null ? -1 : (Long) e[2];
        }

        @Override
        public long awaitRemoved(String address, long since, Duration timeout) {
            Object[] e = await(false, address, since, timeout);
            return e == null ? -1 : (Long) e[2];
        }

        @Override
        public AtomicBoolean traffic(String address, AtomicLong sent) {
            Object[] added = await(true, address, 0, Duration.ZERO);
            if (added == null) {
                throw new IllegalStateException(address + " never joined the stock observer");
            }
            Member[] to = {(Member) added[3]};
            byte[] payload = new byte[1024];
            return sendUntilFailure("harness-stock-traffic", sent,
                    () -> channel.send(to, new ByteMessage(payload), Channel.SEND_OPTIONS_USE_ACK));
        }

        @Override
        public void close() {
            try {
                channel.stop(Channel.DEFAULT);
            } catch (ChannelException e) {
                System.err.println("stock observer stop failed: " + e);
            }
        }
    }

    /** One acknowledged send, for the traffic scenarios. */
    @FunctionalInterface
    interface AcknowledgedSend {
        void send() throws Exception;
    }

    /**
     * Sends back to back on a daemon thread, counting into {@code sent}, until stopped through the returned flag or
     * until a send fails: the member is gone, which is the point of the scenario.
     */
    static AtomicBoolean sendUntilFailure(String threadName, AtomicLong sent, AcknowledgedSend send) {
        AtomicBoolean stop = new AtomicBoolean();
        Thread t = new Thread(() -> {
            while (!stop.get()) {
                try {
                    send.send();
                    sent.incrementAndGet();
                } catch (Exception e) {
                    return;
                }
            }
        }, threadName);
        t.setDaemon(true);
        t.start();
        return stop;
    }
}
