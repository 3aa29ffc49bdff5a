package io.flotilla.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A profiling aid for {@link AbstractReplicationBenchmark}: how many times per request each kind of thread of the
 * two-node cluster blocks and is woken again (Linux's voluntary context switches, from
 * {@code /proc/self/task/<tid>/status}), stock and Flotilla, async and sync. A synchronous request costs at least
 * the hand-offs on its way to the backup and back; on a loaded 2-core machine each is several microseconds, so this
 * count explains latency differences that wall-clock figures there cannot settle. Thread names come from
 * {@code jcmd <pid> Thread.print} (digits folded), or the kernel's 15-character name when {@code jcmd} is missing.
 *
 * <p>Usage: {@code java -Djava.net.preferIPv4Stack=true -cp benchmarks/target/benchmarks.jar
 * io.flotilla.bench.ReplicationHandOffs [requests]} (default 20,000 after as many for warm-up). Linux only. Not a
 * benchmark: it runs each trial of the JMH benchmark outside JMH, as {@code ReplicationBenchmarkTest} does.
 *
 * <p>Threading: a program; one thread drives the requests.
 */
public final class ReplicationHandOffs {
    private static final Pattern THREAD = Pattern.compile("^\"([^\"]*)\".*nid=0x([0-9a-f]+)");

    private ReplicationHandOffs() {
    }

    public static void main(String[] args) throws Exception {
        int requests = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        for (String mode : List.of("sync", "async")) {
            for (BenchTomcat.Kind kind : List.of(BenchTomcat.Kind.STOCK, BenchTomcat.Kind.FLOTILLA)) {
                AbstractReplicationBenchmark bench = kind == BenchTomcat.Kind.STOCK ? new StockReplicationBenchmark()
                        : new FlotillaReplicationBenchmark();
                bench.mode = mode;
                bench.startCluster();
                try {
                    for (int i = 0; i < requests; i++) {
                        bench.latency();
                    }
                    Map<String, Long> before = switches();
                    long start = System.nanoTime();
                    for (int i = 0; i < requests; i++) {
                        bench.latency();
                    }
                    long nanos = System.nanoTime() - start;
                    Map<String, Long> after = switches();
                    StringBuilder b = new StringBuilder(String.format(Locale.ROOT,
                            "%s %s: %.1f us per request (wall clock, this machine's load included)%n", kind, mode,
                            nanos / 1e3 / requests));
                    double total = 0;
                    for (Map.Entry<String, Long> e : after.entrySet()) {
                        double perRequest = (e.getValue() - before.getOrDefault(e.getKey(), 0L)) / (double) requests;
                        total += perRequest;
                        if (perRequest >= 0.01) {
                            b.append(String.format(Locale.ROOT, "  %-60s %5.2f%n", e.getKey(), perRequest));
                        }
                    }
                    b.append(String.format(Locale.ROOT, "  %-60s %5.2f%n", "voluntary context switches per request",
                            total));
                    System.out.print(b);
                } finally {
                    bench.verifyAndStop();
                }
            }
        }
    }

    /** Voluntary context switches so far, summed per thread name (digits folded to N). */
    private static Map<String, Long> switches() throws IOException, InterruptedException {
        Map<Long, String> names = javaThreadNames();
        Map<String, Long> out = new TreeMap<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                long tid = Long.parseLong(t.getFileName().toString());
                try {
                    String name = names.get(tid);
                    if (name == null) {
                        name = Files.readString(t.resolve("comm"), StandardCharsets.UTF_8).trim().replaceAll("\\d+",
                                "N");
                    }
                    for (String l : Files.readAllLines(t.resolve("status"), StandardCharsets.UTF_8)) {
                        if (l.startsWith("voluntary_ctxt_switches")) {
                            out.merge(name, Long.parseLong(l.split("\\s+")[1]), Long::sum);
                        }
                    }
                } catch (IOException gone) {
                    // the thread ended between the listing and the read: it no longer counts on either side
                    continue;
                }
            }
        }
        return out;
    }

    /** Native thread id to Java thread name, from {@code jcmd Thread.print}; empty if jcmd is not there. */
    private static Map<Long, String> javaThreadNames() throws InterruptedException {
        Map<Long, String> m = new HashMap<>();
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd)) {
            return m;
        }
        try {
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(ProcessHandle.current().pid()),
                    "Thread.print").redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return m;
            }
            for (String line : text.split("\n")) {
                Matcher x = THREAD.matcher(line);
                if (x.find()) {
                    m.put(Long.parseLong(x.group(2), 16), x.group(1).replaceAll("\\d+", "N"));
                }
            }
        } catch (IOException e) {
            System.err.println("jcmd failed (" + e.getMessage() + "); kernel thread names instead");
        }
        return m;
    }
}
