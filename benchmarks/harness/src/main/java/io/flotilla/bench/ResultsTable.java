package io.flotilla.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Turns JMH's JSON results (and the harness lines of programs such as {@code WireSizes}) into the suite's
 * results table: {@code benchmarks/results/latest.csv} with the columns {@code metric,unit,better,flotilla,stock}
 * (one row per figure measured), and a printed table with the ratio of Flotilla to stock.
 *
 * <p><b>The mapping lives in {@link #ROWS}</b>: one line per metric, naming where its Flotilla and stock
 * figures come from: the same source on each side, with the Flotilla or the stock benchmark name (e.g.
 * {@code perSecond(FLOTILLA_ASYNC, "size=1024")}); {@link #NONE} marks a side not measured. The rows of
 * {@link HttpHarness}'s open loop (five figures per offered load and mode) are made by {@code e2eAtLoads}.
 *
 * <p>Usage: {@code java -cp harness.jar io.flotilla.bench.ResultsTable --json run.json [--json more.json]
 * [--harness harness.txt] --csv benchmarks/results/latest.csv}. Rows with no figure on either side are
 * left out of the CSV. The ratio column says how many times better Flotilla is than stock: flotilla/stock
 * where higher is better, stock/flotilla where lower is better.
 *
 * <p>Threading: a program; instances are single-threaded.
 */
public final class ResultsTable {

    /** Which direction of a figure is the better one. */
    enum Better {
        HIGHER, LOWER;

        String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Where one figure comes from. */
    @FunctionalInterface
    interface Source {
        OptionalDouble value(Results results);
    }

    /** One row of the table. */
    record Row(String metric, String unit, Better better, Source flotilla, Source stock) {
    }

    /** A figure not (yet) measured. */
    static final Source NONE = r -> OptionalDouble.empty();

    private static final String PKG = "io.flotilla.bench.";
    static final String STOCK_ASYNC = PKG + "StockChannelAsyncBenchmark.send";
    static final String STOCK_SYNC_LATENCY_1 = PKG + "StockChannelSyncBenchmark.latency1Thread";
    static final String STOCK_SYNC_LATENCY_8 = PKG + "StockChannelSyncBenchmark.latency8Threads";
    static final String STOCK_SYNC_THROUGHPUT_8 = PKG + "StockChannelSyncBenchmark.throughput8Threads";
    static final String STOCK_CODEC = PKG + "StockDeltaCodecBenchmark.encodeDecode";
    // The Flotilla side: the same benchmarks under these names.
    static final String FLOTILLA_ASYNC = PKG + "FlotillaChannelAsyncBenchmark.send";
    static final String FLOTILLA_SYNC_LATENCY_1 = PKG + "FlotillaChannelSyncBenchmark.latency1Thread";
    static final String FLOTILLA_SYNC_LATENCY_8 = PKG + "FlotillaChannelSyncBenchmark.latency8Threads";
    static final String FLOTILLA_SYNC_THROUGHPUT_8 = PKG + "FlotillaChannelSyncBenchmark.throughput8Threads";
    static final String FLOTILLA_CODEC = PKG + "FlotillaDeltaCodecBenchmark.encodeDecode";
    // Replication per request (AbstractReplicationBenchmark), both sides.
    static final String STOCK_REPLICATION_LATENCY = PKG + "StockReplicationBenchmark.latency";
    static final String STOCK_REPLICATION_THROUGHPUT = PKG + "StockReplicationBenchmark.throughput";
    static final String FLOTILLA_REPLICATION_LATENCY = PKG + "FlotillaReplicationBenchmark.latency";
    static final String FLOTILLA_REPLICATION_THROUGHPUT = PKG + "FlotillaReplicationBenchmark.throughput";

    /** The raw loopback round trip (RawRoundTripBenchmark), the floor of the sync channel's latency. */
    static final String RAW_ROUND_TRIP = PKG + "RawRoundTripBenchmark.latency";

    private static final String RECEIVED_1K = "delivery=RECEIVED,size=1024";
    private static final String PROCESSED_1K = "delivery=PROCESSED,size=1024";

    /** Every metric of the table, in print order: metric, unit, better, flotilla source, stock source. */
    static final List<Row> ROWS = Stream.of(List.of(
            new Row("channel.async.100B.msgs_per_s", "msgs/s", Better.HIGHER, perSecond(FLOTILLA_ASYNC, "size=100"), perSecond(STOCK_ASYNC, "size=100")),
            new Row("channel.async.1KiB.msgs_per_s", "msgs/s", Better.HIGHER, perSecond(FLOTILLA_ASYNC, "size=1024"), perSecond(STOCK_ASYNC, "size=1024")),
            new Row("channel.async.16KiB.msgs_per_s", "msgs/s", Better.HIGHER, perSecond(FLOTILLA_ASYNC, "size=16384"), perSecond(STOCK_ASYNC, "size=16384")),
            new Row("channel.async.100B.MB_per_s", "MB/s", Better.HIGHER, megabytesPerSecond(FLOTILLA_ASYNC, 100), megabytesPerSecond(STOCK_ASYNC, 100)),
            new Row("channel.async.1KiB.MB_per_s", "MB/s", Better.HIGHER, megabytesPerSecond(FLOTILLA_ASYNC, 1024), megabytesPerSecond(STOCK_ASYNC, 1024)),
            new Row("channel.async.16KiB.MB_per_s", "MB/s", Better.HIGHER, megabytesPerSecond(FLOTILLA_ASYNC, 16384), megabytesPerSecond(STOCK_ASYNC, 16384)),
            new Row("channel.async.out_of_order", "%", Better.LOWER, outOfOrderPercent(FLOTILLA_ASYNC), outOfOrderPercent(STOCK_ASYNC)),
            new Row("channel.sync.1KiB.p50_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_1, RECEIVED_1K, "50.0"), micros(STOCK_SYNC_LATENCY_1, RECEIVED_1K, "50.0")),
            new Row("channel.sync.1KiB.p99_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_1, RECEIVED_1K, "99.0"), micros(STOCK_SYNC_LATENCY_1, RECEIVED_1K, "99.0")),
            new Row("channel.sync.1KiB.8threads.p50_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_8, RECEIVED_1K, "50.0"), micros(STOCK_SYNC_LATENCY_8, RECEIVED_1K, "50.0")),
            new Row("channel.sync.1KiB.8threads.p99_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_8, RECEIVED_1K, "99.0"), micros(STOCK_SYNC_LATENCY_8, RECEIVED_1K, "99.0")),
            new Row("channel.sync.1KiB.8threads.msgs_per_s", "msgs/s", Better.HIGHER, perSecond(FLOTILLA_SYNC_THROUGHPUT_8, RECEIVED_1K), perSecond(STOCK_SYNC_THROUGHPUT_8, RECEIVED_1K)),
            new Row("channel.processed.1KiB.p50_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_1, PROCESSED_1K, "50.0"), micros(STOCK_SYNC_LATENCY_1, PROCESSED_1K, "50.0")),
            new Row("channel.processed.1KiB.p99_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_1, PROCESSED_1K, "99.0"), micros(STOCK_SYNC_LATENCY_1, PROCESSED_1K, "99.0")),
            new Row("channel.processed.1KiB.8threads.p50_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_8, PROCESSED_1K, "50.0"), micros(STOCK_SYNC_LATENCY_8, PROCESSED_1K, "50.0")),
            new Row("channel.processed.1KiB.8threads.p99_us", "us", Better.LOWER, micros(FLOTILLA_SYNC_LATENCY_8, PROCESSED_1K, "99.0"), micros(STOCK_SYNC_LATENCY_8, PROCESSED_1K, "99.0")),
            new Row("channel.processed.1KiB.8threads.msgs_per_s", "msgs/s", Better.HIGHER, perSecond(FLOTILLA_SYNC_THROUGHPUT_8, PROCESSED_1K), perSecond(STOCK_SYNC_THROUGHPUT_8, PROCESSED_1K)),
            // The baseline, in both columns (as HttpHarness's plain rows): a 1 KiB write and read back on a plain socket.
            new Row("channel.raw.1KiB.p50_us", "us", Better.LOWER, micros(RAW_ROUND_TRIP, "size=1024", "50.0"), micros(RAW_ROUND_TRIP, "size=1024", "50.0")),
            new Row("channel.raw.1KiB.p99_us", "us", Better.LOWER, micros(RAW_ROUND_TRIP, "size=1024", "99.0"), micros(RAW_ROUND_TRIP, "size=1024", "99.0")),
            new Row("delta.integer.ns_per_op", "ns", Better.LOWER, nanos(FLOTILLA_CODEC, "change=integer"), nanos(STOCK_CODEC, "change=integer")),
            new Row("delta.ten.ns_per_op", "ns", Better.LOWER, nanos(FLOTILLA_CODEC, "change=ten"), nanos(STOCK_CODEC, "change=ten")),
            new Row("delta.graph.ns_per_op", "ns", Better.LOWER, nanos(FLOTILLA_CODEC, "change=graph"), nanos(STOCK_CODEC, "change=graph")),
            new Row("delta.integer.alloc_B_per_op", "B", Better.LOWER, allocation(FLOTILLA_CODEC, "change=integer"), allocation(STOCK_CODEC, "change=integer")),
            new Row("delta.ten.alloc_B_per_op", "B", Better.LOWER, allocation(FLOTILLA_CODEC, "change=ten"), allocation(STOCK_CODEC, "change=ten")),
            new Row("delta.graph.alloc_B_per_op", "B", Better.LOWER, allocation(FLOTILLA_CODEC, "change=graph"), allocation(STOCK_CODEC, "change=graph")),
            new Row("delta.integer.bytes", "B", Better.LOWER, harness("delta.integer.bytes", "flotilla"), harness("delta.integer.bytes", "stock")),
            new Row("delta.ten.bytes", "B", Better.LOWER, harness("delta.ten.bytes", "flotilla"), harness("delta.ten.bytes", "stock")),
            new Row("delta.graph.bytes", "B", Better.LOWER, harness("delta.graph.bytes", "flotilla"), harness("delta.graph.bytes", "stock")),
            // MembershipHarness (median ms of its rounds), Flotilla and stock measured in the same run.
            membership("join.ms"),
            membership("join.start.ms"),
            membership("join.seen.ms"),
            membership("join.sees.ms"),
            membership("join.cds.ms"),
            membership("join.cds.start.ms"),
            membership("detect.kill9.idle.ms"),
            membership("detect.kill9.traffic.ms"),
            membership("kill9.exit.idle.ms"),
            membership("kill9.exit.traffic.ms"),
            membership("detect.hung.ms"),
            membership("leave.graceful.ms"),
            // HttpHarness (medians of its rounds): the no-cluster baseline, in both columns, then each cluster mode.
            e2ePlain("requests_per_s", "req/s", Better.HIGHER),
            e2ePlain("p50_us", "us", Better.LOWER),
            e2ePlain("p99_us", "us", Better.LOWER),
            e2e("async.requests_per_s", "req/s", Better.HIGHER),
            e2e("async.p50_us", "us", Better.LOWER),
            e2e("async.p99_us", "us", Better.LOWER),
            e2e("async.ratio_to_plain", "x", Better.HIGHER),
            e2e("sync.requests_per_s", "req/s", Better.HIGHER),
            e2e("sync.p50_us", "us", Better.LOWER),
            e2e("sync.p99_us", "us", Better.LOWER),
            e2e("sync.ratio_to_plain", "x", Better.HIGHER)),
            // HttpHarness's open loop: latency at fixed shares of each side's peak.
            e2eAtLoads(HttpHarness.DEFAULT_LOADS),
            List.of(
            // AbstractReplicationBenchmark: one request's session work + its end-of-request replication.
            replication("async", "p50_us"),
            replication("async", "p99_us"),
            replication("async", "ops_per_s"),
            replication("async", "alloc_B_per_op"),
            replication("sync", "p50_us"),
            replication("sync", "p99_us"),
            replication("sync", "ops_per_s"),
            replication("sync", "alloc_B_per_op"),
            // StateTransferHarness: a joining node until it holds N sessions.
            stateTransfer("10k.ms"),
            stateTransfer("100k.ms"),
            stateTransfer("10k.start_ms"),
            stateTransfer("100k.start_ms"),
            stateTransfer("10k.bytes_per_session"),
            stateTransfer("100k.bytes_per_session")),
            // ScaleHarness: per request, summed over the cluster, as it grows.
            scaleRows()).flatMap(List::stream).toList();

    /**
     * A row of the replication benchmarks, {@code replication.<mode>.<figure>}: p50/p99 of {@code latency}, ops/s and
     * bytes allocated per request of {@code throughput}.
     */
    private static Row replication(String mode, String figure) {
        String params = "mode=" + mode;
        String name = "replication." + mode + "." + figure;
        return switch (figure) {
            case "p50_us", "p99_us" -> {
                String pct = figure.equals("p50_us") ? "50.0" : "99.0";
                yield new Row(name, "us", Better.LOWER, micros(FLOTILLA_REPLICATION_LATENCY, params, pct),
                        micros(STOCK_REPLICATION_LATENCY, params, pct));
            }
            case "ops_per_s" -> new Row(name, "ops/s", Better.HIGHER,
                    perSecond(FLOTILLA_REPLICATION_THROUGHPUT, params),
                    perSecond(STOCK_REPLICATION_THROUGHPUT, params));
            case "alloc_B_per_op" -> new Row(name, "B", Better.LOWER,
                    allocation(FLOTILLA_REPLICATION_THROUGHPUT, params),
                    allocation(STOCK_REPLICATION_THROUGHPUT, params));
            default -> throw new IllegalArgumentException(figure);
        };
    }

    /**
     * The rows of {@link ScaleHarness}: {@code scale.<all|backup>.n<N>.<figure>} for 2, 4 and 8 nodes (Flotilla
     * {@code mode="all"} beside {@code DeltaManager}, {@code mode="backup"} beside {@code BackupManager}), then the
     * non-sticky figures at 4 nodes (Flotilla only); first the baseline: the same N Tomcats without a cluster.
     */
    private static List<Row> scaleRows() {
        List<Row> rows = new ArrayList<>();
        List<String> variants = new ArrayList<>();
        for (int n : List.of(2, 4, 8)) {
            variants.add("all.n" + n);
            variants.add("backup.n" + n);
        }
        variants.add("all.n4.nonsticky");
        variants.add("backup.n4.nonsticky");
        for (int n : List.of(2, 4, 8)) {
            // The same N Tomcats without a cluster, in both columns (as HttpHarness's plain rows).
            String plain = "scale.plain.n" + n + ".";
            rows.add(new Row(plain + "requests_per_s", "req/s", Better.HIGHER, harness(plain + "requests_per_s",
                    "plain"), harness(plain + "requests_per_s", "plain")));
            rows.add(new Row(plain + "cpu_us_per_req", "us", Better.LOWER, harness(plain + "cpu_us_per_req", "plain"),
                    harness(plain + "cpu_us_per_req", "plain")));
        }
        for (String v : variants) {
            for (String figure : ScaleHarness.FIGURES) {
                String name = "scale." + v + "." + figure;
                boolean rate = figure.equals("requests_per_s");
                String unit = switch (figure) {
                    case "requests_per_s" -> "req/s";
                    case "bytes_per_req" -> "B";
                    case "cpu_us_per_req" -> "us";
                    default -> "count";
                };
                rows.add(new Row(name, unit, rate ? Better.HIGHER : Better.LOWER, harness(name, "flotilla"),
                        harness(name, "stock")));
            }
        }
        return rows;
    }

    /** A row of {@link StateTransferHarness}: {@code statetransfer.<metric>}, lower is better, both sides. */
    private static Row stateTransfer(String metric) {
        String name = "statetransfer." + metric;
        return new Row(name, metric.endsWith("bytes_per_session") ? "B" : "ms", Better.LOWER,
                harness(name, "flotilla"), harness(name, "stock"));
    }

    /** A row of {@link HttpHarness}: {@code e2e.<metric>}, both sides. */
    private static Row e2e(String metric, String unit, Better better) {
        String name = "e2e." + metric;
        return new Row(name, unit, better, harness(name, "flotilla"), harness(name, "stock"));
    }

    /** A baseline row of {@link HttpHarness} ({@code e2e.plain.<metric>}, side {@code plain}), shown in both columns. */
    private static Row e2ePlain(String metric, String unit, Better better) {
        String name = "e2e.plain." + metric;
        return new Row(name, unit, better, harness(name, "plain"), harness(name, "plain"));
    }

    /**
     * The rows of {@link HttpHarness}'s open loop, {@code e2e.<mode>.load<percent>.<figure>} for each of
     * {@code loads}: the offered rate and the latencies (plain in both columns, as its other rows).
     */
    private static List<Row> e2eAtLoads(List<Integer> loads) {
        List<Row> rows = new ArrayList<>();
        for (String mode : List.of("plain", "async", "sync")) {
            for (int percent : loads) {
                for (String figure : HttpHarness.LOAD_FIGURES) {
                    String metric = mode + ".load" + percent + "." + figure;
                    boolean rate = figure.endsWith("_per_s");
                    Better better = rate ? Better.HIGHER : Better.LOWER;
                    String unit = rate ? "req/s" : "us";
                    rows.add(mode.equals("plain") ? e2ePlain(metric.substring("plain.".length()), unit, better)
                            : e2e(metric, unit, better));
                }
            }
        }
        return rows;
    }

    /** A row of {@link MembershipHarness}: {@code <metric>} in ms, lower is better, both sides. */
    private static Row membership(String metric) {
        return new Row(metric, "ms", Better.LOWER, harness(metric, "flotilla"), harness(metric, "stock"));
    }

    /**
     * Reads a JMH result file as plain values: objects as {@code Map<String, Object>} (in document order), arrays as
     * {@code List<Object>}, numbers as {@code Number}; content after the document is refused. Immutable, so shared.
     */
    private static final ObjectReader JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build().readerFor(Object.class);

    /** The CSV header, exactly. */
    static final String CSV_HEADER = "metric,unit,better,flotilla,stock";

    private ResultsTable() {
    }

    public static void main(String[] args) throws IOException {
        List<Path> json = new ArrayList<>();
        List<Path> harness = new ArrayList<>();
        Path csv = null;
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (i + 1 >= args.length) {
                usage("missing value after " + flag);
            }
            Path p = Path.of(args[++i]);
            switch (flag) {
                case "--json" -> json.add(p);
                case "--harness" -> harness.add(p);
                case "--csv" -> csv = p;
                default -> usage("unknown option " + flag);
            }
        }
        if (csv == null) {
            usage("--csv is required");
        }
        Results results = Results.read(json, harness);
        List<String> lines = csv(ROWS, results);
        Path parent = csv.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.write(csv, lines, StandardCharsets.UTF_8);
        print(ROWS, results, System.out);
        System.out.println("Wrote " + csv + " (" + (lines.size() - 1) + " rows).");
    }

    private static void usage(String why) {
        System.err.println(why);
        System.err.println("usage: ResultsTable --json <jmh.json> [--json ...] [--harness <file>] --csv <out.csv>");
        System.exit(2);
    }

    /** The CSV lines (header first) of every row with a figure on at least one side. */
    static List<String> csv(List<Row> rows, Results results) {
        List<String> lines = new ArrayList<>();
        lines.add(CSV_HEADER);
        for (Row row : rows) {
            OptionalDouble f = row.flotilla().value(results);
            OptionalDouble s = row.stock().value(results);
            if (f.isPresent() || s.isPresent()) {
                lines.add(String.join(",", row.metric(), row.unit(), row.better().id(), format(f), format(s)));
            }
        }
        return lines;
    }

    /** Prints the rows that have a figure, with the ratio column. */
    static void print(List<Row> rows, Results results, PrintStream out) {
        String fmt = "%-44s %-7s %-6s %14s %14s %10s%n";
        out.printf(Locale.ROOT, fmt, "metric", "unit", "better", "flotilla", "stock", "ratio");
        for (Row row : rows) {
            OptionalDouble f = row.flotilla().value(results);
            OptionalDouble s = row.stock().value(results);
            if (f.isPresent() || s.isPresent()) {
                out.printf(Locale.ROOT, fmt, row.metric(), row.unit(), row.better().id(), orDash(format(f)), orDash(format(s)),
                        ratio(row.better(), f, s));
            }
        }
        out.println("ratio: how many times better Flotilla is (flotilla/stock if higher is better, "
                + "stock/flotilla if lower is better).");
    }

    static String ratio(Better better, OptionalDouble flotilla, OptionalDouble stock) {
        if (flotilla.isEmpty() || stock.isEmpty()) {
            return "-";
        }
        double f = flotilla.getAsDouble();
        double s = stock.getAsDouble();
        double num = better == Better.HIGHER ? f : s;
        double den = better == Better.HIGHER ? s : f;
        if (den == 0) {
            return num == 0 ? "=" : "inf";
        }
        return String.format(Locale.ROOT, "%.2fx", num / den);
    }

    private static String orDash(String s) {
        return s.isEmpty() ? "-" : s;
    }

    /** A figure as the CSV shows it: no exponent, precision that suits its size, trailing zeros dropped. */
    static String format(OptionalDouble v) {
        if (v.isEmpty() || Double.isNaN(v.getAsDouble())) {
            return "";
        }
        double d = v.getAsDouble();
        double a = Math.abs(d);
        String s = String.format(Locale.ROOT, a >= 1000 ? "%.0f" : a >= 1 ? "%.2f" : "%.4f", d);
        if (s.contains(".")) {
            s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return s.equals("-0") ? "0" : s;
    }

    // ---------------------------------------------------------------- sources

    /** Primary score of a throughput benchmark, in operations per second. */
    static Source perSecond(String benchmark, String params) {
        return r -> figure(r.entry(benchmark, params), e -> e.primaryIn(Unit.PER_SECOND));
    }

    /** Payload megabytes (10^6 bytes) per second of a throughput benchmark sending {@code size}-byte messages. */
    static Source megabytesPerSecond(String benchmark, int size) {
        return r -> figure(r.entry(benchmark, "size=" + size), e -> e.primaryIn(Unit.PER_SECOND) * size / 1e6);
    }

    /** A percentile ("50.0", "99.0") of a sample-time benchmark, in microseconds. */
    static Source micros(String benchmark, String params, String percentile) {
        return r -> figure(r.entry(benchmark, params), e -> e.percentileIn(percentile, Unit.MICROS));
    }

    /** Primary score of an average-time benchmark, in nanoseconds. */
    static Source nanos(String benchmark, String params) {
        return r -> figure(r.entry(benchmark, params), e -> e.primaryIn(Unit.NANOS));
    }

    /** Bytes allocated per operation ({@code -prof gc}'s {@code gc.alloc.rate.norm}). */
    static Source allocation(String benchmark, String params) {
        return r -> figure(r.entry(benchmark, params), e -> e.secondary("gc.alloc.rate.norm"));
    }

    /**
     * Percentage of received messages that arrived out of order, over every run of the benchmark (all
     * sizes): {@code 100 * sum(outOfOrder) / sum(received)}.
     */
    static Source outOfOrderPercent(String benchmark) {
        return r -> {
            double late = 0;
            double received = 0;
            for (Entry e : r.entries(benchmark)) {
                late += e.secondary("outOfOrder");
                received += e.secondary("received");
            }
            return received > 0 && !Double.isNaN(late) ? OptionalDouble.of(100 * late / received)
                    : OptionalDouble.empty();
        };
    }

    private static OptionalDouble figure(Optional<Entry> entry, ToDoubleFunction<Entry> f) {
        if (entry.isEmpty()) {
            return OptionalDouble.empty();
        }
        double v = f.applyAsDouble(entry.get());
        return Double.isNaN(v) ? OptionalDouble.empty() : OptionalDouble.of(v);
    }

    /** A line {@code <metric> <impl> <value>} of a harness file. */
    static Source harness(String metric, String impl) {
        return r -> {
            Double v = r.harness.get(metric + " " + impl);
            return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
        };
    }

    // ---------------------------------------------------------------- results

    /** Units the sources convert JMH's score units to. */
    enum Unit {
        PER_SECOND, MICROS, NANOS
    }

    /** One JMH result: benchmark name, parameters, primary and secondary metrics. */
    record Entry(String benchmark, Map<String, String> params, Map<String, Object> primary,
            Map<String, Object> secondaries) {

        boolean matches(String name, Map<String, String> wanted) {
            if (!benchmark.equals(name)) {
                return false;
            }
            for (Map.Entry<String, String> w : wanted.entrySet()) {
                if (!w.getValue().equals(params.get(w.getKey()))) {
                    return false;
                }
            }
            return true;
        }

        double primaryIn(Unit unit) {
            return convert(number(primary.get("score")), (String) primary.get("scoreUnit"), unit);
        }

        double percentileIn(String percentile, Unit unit) {
            Object p = primary.get("scorePercentiles");
            if (!(p instanceof Map<?, ?> m) || !m.containsKey(percentile)) {
                return Double.NaN;
            }
            return convert(number(m.get(percentile)), (String) primary.get("scoreUnit"), unit);
        }

        double secondary(String name) {
            Object s = secondaries.get(name);
            if (s instanceof Map<?, ?> m) {
                return number(m.get("score"));
            }
            return Double.NaN;
        }
    }

    /** A number from a parsed value: a number, or a string such as "NaN" (JMH writes NaN so); NaN for anything else. */
    static double number(Object v) {
        if (v instanceof Number n) {
            return n.doubleValue();
        }
        if (v instanceof String s) {
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                return Double.NaN;
            }
        }
        return Double.NaN;
    }

    /** Converts a JMH score unit (ops/s, ops/ms, ops/us, ops/ns; s/op, ms/op, us/op, ns/op) to {@code to}. */
    static double convert(double value, String from, Unit to) {
        String[] parts = from.split("/");
        if (parts.length != 2) {
            throw new IllegalArgumentException("unknown JMH score unit " + from);
        }
        if (to == Unit.PER_SECOND) {
            if (!parts[0].equals("ops")) {
                throw new IllegalArgumentException("expected a throughput unit (ops/...), got " + from);
            }
            return value / seconds(parts[1]);
        }
        if (!parts[1].equals("op")) {
            throw new IllegalArgumentException("expected a time per operation (.../op), got " + from);
        }
        double s = value * seconds(parts[0]);
        return to == Unit.MICROS ? s * 1e6 : s * 1e9;
    }

    private static double seconds(String unit) {
        return switch (unit) {
            case "s" -> 1;
            case "ms" -> 1e-3;
            case "us" -> 1e-6;
            case "ns" -> 1e-9;
            case "min" -> 60;
            default -> throw new IllegalArgumentException("unknown time unit " + unit);
        };
    }

    /** Everything read from the JMH JSON files and harness files. */
    static final class Results {
        final List<Entry> entries;
        final Map<String, Double> harness;

        Results(List<Entry> entries, Map<String, Double> harness) {
            this.entries = entries;
            this.harness = harness;
        }

        static Results read(List<Path> json, List<Path> harnessFiles) throws IOException {
            List<Entry> entries = new ArrayList<>();
            for (Path p : json) {
                entries.addAll(parseJmh(Files.readString(p, StandardCharsets.UTF_8)));
            }
            Map<String, Double> harness = new LinkedHashMap<>();
            for (Path p : harnessFiles) {
                harness.putAll(parseHarness(Files.readAllLines(p, StandardCharsets.UTF_8)));
            }
            return new Results(entries, harness);
        }

        /** The last entry of {@code benchmark} whose parameters include {@code params} ("k=v,k=v"). */
        Optional<Entry> entry(String benchmark, String params) {
            Map<String, String> wanted = new LinkedHashMap<>();
            for (String kv : params.split(",")) {
                if (!kv.isBlank()) {
                    String[] p = kv.split("=", 2);
                    wanted.put(p[0].trim(), p[1].trim());
                }
            }
            Entry found = null;
            for (Entry e : entries) {
                if (e.matches(benchmark, wanted)) {
                    found = e;
                }
            }
            return Optional.ofNullable(found);
        }

        List<Entry> entries(String benchmark) {
            return entries.stream().filter(e -> e.benchmark().equals(benchmark)).toList();
        }
    }

    @SuppressWarnings("unchecked")
    static List<Entry> parseJmh(String text) {
        Object doc;
        try {
            doc = JSON.readValue(text);
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? "" : " at offset " + e.getLocation().getCharOffset();
            throw new IllegalArgumentException("bad JSON" + at + ": " + e.getOriginalMessage(), e);
        }
        if (!(doc instanceof List<?> list)) {
            throw new IllegalArgumentException("a JMH JSON result file is an array, this is not");
        }
        List<Entry> entries = new ArrayList<>();
        for (Object o : list) {
            Map<String, Object> m = (Map<String, Object>) o;
            Map<String, String> params = new LinkedHashMap<>();
            Object p = m.get("params");
            if (p instanceof Map<?, ?> pm) {
                pm.forEach((k, v) -> params.put(String.valueOf(k), String.valueOf(v)));
            }
            Object secondary = m.get("secondaryMetrics");
            entries.add(new Entry((String) m.get("benchmark"), params, (Map<String, Object>) m.get("primaryMetric"),
                    secondary instanceof Map<?, ?> ? (Map<String, Object>) secondary : Map.of()));
        }
        return entries;
    }

    /** Harness lines {@code <metric> <impl> <value>}; blank lines and {@code #} comments are skipped. */
    static Map<String, Double> parseHarness(List<String> lines) {
        Map<String, Double> values = new LinkedHashMap<>();
        for (String line : lines) {
            String t = line.trim();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] f = t.split("\\s+");
            if (f.length != 3) {
                throw new IllegalArgumentException("harness line is not '<metric> <impl> <value>': " + line);
            }
            values.put(f[0] + " " + f[1], Double.valueOf(f[2]));
        }
        return values;
    }
}
