package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.bench.HttpHarness.AtLoad;
import io.flotilla.bench.HttpHarness.ClientSession;
import io.flotilla.bench.HttpHarness.Measurement;
import io.flotilla.bench.HttpHarness.Options;
import io.flotilla.bench.HttpHarness.Variant;
import io.flotilla.bench.KeepAliveClient.Response;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The harness's checks of each answer, its options and its figures, without starting anything. */
class HttpHarnessTest {
    private static final Variant FLOTILLA_ASYNC = new Variant(BenchTomcat.Kind.FLOTILLA, false);
    private static final Variant STOCK_SYNC = new Variant(BenchTomcat.Kind.STOCK, true);

    @Test
    void acceptsACountingSessionAndSendsItsCookieFromTheFirstAnswerOn() {
        ClientSession s = new ClientSession(8080);

        assertNull(s.accept(new Response(200, "abc.a", false, "1")));
        assertNull(s.accept(new Response(200, null, false, "2")));
        assertNull(s.accept(new Response(200, "abc.a", false, "3")));

        assertEquals(3, s.counter);
        assertTrue(new String(s.request, StandardCharsets.ISO_8859_1).contains("Cookie: JSESSIONID=abc.a\r\n"));
    }

    @Test
    void refusesALostUpdateAResetAChangedSessionAndAnError() {
        ClientSession s = new ClientSession(8080);
        assertNull(s.accept(new Response(200, "abc.a", false, "1")));
        assertNull(s.accept(new Response(200, null, false, "2")));

        assertEquals("session abc.a after 2: counter 4, expected 3 (an update was lost)",
                s.accept(new Response(200, null, false, "4")));
        assertEquals("session abc.a after 2: counter 1, expected 3 (the session was reset)",
                s.accept(new Response(200, null, false, "1")));
        assertEquals("session abc.a after 2: the session id changed to def.a",
                s.accept(new Response(200, "def.a", false, "3")));
        assertEquals("session abc.a after 2: status 500, body ", s.accept(new Response(500, null, false, "")));
        assertEquals("session abc.a after 2: body is not a counter: 'x'", s.accept(new Response(200, null, false, "x")));
        assertEquals("session (new) after 0: the first response set no JSESSIONID cookie",
                new ClientSession(8080).accept(new Response(200, null, false, "1")));
    }

    @Test
    void aNonStickySessionGoesRoundRobinAndFollowsItsIdToAnotherRouteButNotToAnotherId() {
        ClientSession s = new ClientSession(8081, new int[] {8081, 8082, 8083}, false);
        assertEquals(List.of(8081, 8082, 8083, 8081), List.of(s.port(1), s.port(1), s.port(1), s.port(1)));

        assertNull(s.accept(new Response(200, "abc.n0", false, "1")));
        assertNull(s.accept(new Response(200, "abc.n1", false, "2")));
        assertTrue(new String(s.request, StandardCharsets.ISO_8859_1).contains("Cookie: JSESSIONID=abc.n1\r\n"));
        assertEquals("session abc.n1 after 2: the session id changed to def.n2",
                s.accept(new Response(200, "def.n2", false, "3")));
        assertEquals(8080, new ClientSession(8080).port(1), "a sticky session keeps its port");
    }

    @Test
    void aSessionThatCountsWrongAnswersFollowsALostUpdateAndAReplacedSessionButRefusesAnError() {
        ClientSession s = new ClientSession(8080, null, true);
        assertNull(s.accept(new Response(200, "abc.a", false, "1")));
        assertNull(s.accept(new Response(200, null, false, "1")));
        assertNull(s.accept(new Response(200, null, false, "5")));
        assertNull(s.accept(new Response(200, null, false, "6")));
        assertNull(s.accept(new Response(200, "def.a", false, "1")));
        assertNull(s.accept(new Response(200, null, false, "2")));

        assertEquals(3, s.wrongAnswers);
        assertEquals(2, s.counter);
        assertTrue(new String(s.request, StandardCharsets.ISO_8859_1).contains("Cookie: JSESSIONID=def.a\r\n"));
        assertEquals("session def.a after 2: status 500, body ", s.accept(new Response(500, null, false, "")));
    }

    @Test
    void percentilesOfTheMergedThreadHistogramsAreTheSortedRanksToWithinTheirPrecision() {
        // Two client threads' latencies, 1..1000 us interleaved, merged as the load merges them.
        Histogram odd = new Histogram(HttpHarness.LATENCY_DIGITS);
        Histogram even = new Histogram(HttpHarness.LATENCY_DIGITS);
        for (int us = 1000; us >= 1; us--) {
            (us % 2 == 1 ? odd : even).recordValue(us * 1_000L);
        }
        Histogram all = new Histogram(HttpHarness.LATENCY_DIGITS);
        all.add(odd);
        all.add(even);

        // Sorted, rank ceil(p% of 1000): the 500th and the 990th value.
        assertWithinPrecision(500_000, HttpHarness.percentile(all, 50));
        assertWithinPrecision(990_000, HttpHarness.percentile(all, 99));
        assertWithinPrecision(1_000, HttpHarness.percentile(all, 0.01));
        assertEquals(0, HttpHarness.percentile(new Histogram(HttpHarness.LATENCY_DIGITS), 99));
    }

    /** At or above the exact value and at most 0.1% over it (3 significant digits). */
    private static void assertWithinPrecision(long exact, long actual) {
        assertTrue(actual >= exact && actual <= exact + exact / 1000, actual + " for exact " + exact);
    }

    @Test
    void modesSetRoundsAndDurationsAndOptionsOverrideThem() {
        Options full = Options.parse(new String[] {"--mode", "full"});
        assertEquals(List.of(2, 15, 15, 8, 200), List.of(full.rounds(), full.warmupSeconds(), full.measureSeconds(),
                full.threads(), full.sessions()));
        assertEquals("[plain, stock-async, flotilla-async, stock-sync, flotilla-sync, plain-jdk-int, stock-async-jdk-int,"
                + " flotilla-async-jdk-int, stock-sync-jdk-int, flotilla-sync-jdk-int, plain-jdk-graph,"
                + " stock-async-jdk-graph, flotilla-async-jdk-graph, stock-sync-jdk-graph, flotilla-sync-jdk-graph]",
                full.variants().toString(), "shape by shape, each with its own plain");

        Options o = Options.parse(new String[] {"--mode", "smoke", "--impl", "flotilla", "--sync", "sync",
                "--measure", "3", "--shapes", "raw-int"});
        assertEquals(List.of(1, 1, 3), List.of(o.rounds(), o.warmupSeconds(), o.measureSeconds()));
        assertEquals("[plain, flotilla-sync]", o.variants().toString());

        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--impl", "jgroups"}));
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--rounds"}));
        assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--threads", "8", "--sessions", "4"}));

        assertEquals(List.of(25, 50, 75), full.loads());
        assertEquals(List.of(10, 90), Options.parse(new String[] {"--loads", "10,90"}).loads());
        assertEquals(List.of(), Options.parse(new String[] {"--loads", "none"}).loads());
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--loads", "50,25"}));
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--loads", "120"}));
    }

    @Test
    void figuresAreMediansOfTheRoundsAndTheRatioIsOverPlainOfTheSameRun() {
        HttpHarness h = new HttpHarness(Options.parse(new String[] {"--mode", "full", "--loads", "50"}),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        h.add(new Measurement(Variant.PLAIN, 1, 40_000, 2.0, 100_000, 900_000, "",
                List.of(new AtLoad(50, 10_000, 80_000, 300_000, 500_000, 700_000))));
        h.add(new Measurement(Variant.PLAIN, 2, 40_000, 1.0, 120_000, 1_000_000, "",
                List.of(new AtLoad(50, 20_000, 90_000, 400_000, 600_000, 900_000))));
        h.add(new Measurement(Variant.PLAIN, 3, 44_000, 2.0, 90_000, 800_000, "",
                List.of(new AtLoad(50, 11_000, 70_000, 200_000, 400_000, 800_000))));
        h.add(new Measurement(FLOTILLA_ASYNC, 1, 18_000, 1.0, 200_000, 2_000_000, "",
                List.of(new AtLoad(50, 9_000, 150_000, 1_000_000, 1_500_000, 3_000_000))));
        h.add(new Measurement(STOCK_SYNC, 1, 5_500, 1.0, 1_000_000, 8_000_000, "", List.of()));

        List<String> figures = h.harnessLines().stream().filter(l -> !l.startsWith("#")).toList();

        assertEquals(List.of(
                "e2e.plain.requests_per_s plain 22000.0",
                "e2e.plain.p50_us plain 100.0",
                "e2e.plain.p99_us plain 900.0",
                "e2e.plain.load50.offered_per_s plain 11000.0",
                "e2e.plain.load50.p50_us plain 80.0",
                "e2e.plain.load50.p99_us plain 300.0",
                "e2e.plain.load50.p999_us plain 500.0",
                "e2e.plain.load50.max_us plain 800.0",
                "e2e.async.requests_per_s flotilla 18000.0",
                "e2e.async.p50_us flotilla 200.0",
                "e2e.async.p99_us flotilla 2000.0",
                "e2e.async.ratio_to_plain flotilla 0.8182",
                "e2e.async.load50.offered_per_s flotilla 9000.0",
                "e2e.async.load50.p50_us flotilla 150.0",
                "e2e.async.load50.p99_us flotilla 1000.0",
                "e2e.async.load50.p999_us flotilla 1500.0",
                "e2e.async.load50.max_us flotilla 3000.0",
                "e2e.sync.requests_per_s stock 5500.0",
                "e2e.sync.p50_us stock 1000.0",
                "e2e.sync.p99_us stock 8000.0",
                "e2e.sync.ratio_to_plain stock 0.2500"), figures);
    }

    @Test
    void shapesNameTheirMetricsAndEachIsMeasuredAgainstItsOwnPlain() {
        assertEquals(HttpHarness.Shape.ALL, Options.parse(new String[0]).shapes(), "every shape by default");
        HttpHarness.Shape jdkGraph = HttpHarness.Shape.parse("jdk-graph");
        assertEquals(List.of(HttpHarness.Shape.RAW_INT, jdkGraph),
                Options.parse(new String[] {"--shapes", "raw-int,jdk-graph"}).shapes());
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--shapes", "curl-int"}));
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"--shapes", "jdk"}));
        assertEquals("/app/graph", jdkGraph.path());

        HttpHarness h = new HttpHarness(Options.parse(new String[] {"--shapes", "jdk-graph", "--impl", "flotilla",
                "--sync", "async", "--loads", "50"}), new PrintStream(new ByteArrayOutputStream(), true,
                        StandardCharsets.UTF_8));
        h.add(new Measurement(Variant.plain(jdkGraph), 1, 4_000, 1.0, 100_000, 900_000, "", List.of(), 250.0,
                Double.NaN));
        h.add(new Measurement(new Variant(BenchTomcat.Kind.FLOTILLA, false, jdkGraph), 1, 3_000, 1.0, 200_000,
                2_000_000, "", List.of(), 300.0, 90.0));

        assertEquals(List.of(
                "e2e.jdk.graph.plain.requests_per_s plain 4000.0",
                "e2e.jdk.graph.plain.p50_us plain 100.0",
                "e2e.jdk.graph.plain.p99_us plain 900.0",
                "e2e.jdk.graph.plain.cpu_a_us plain 250.0",
                "e2e.jdk.graph.async.requests_per_s flotilla 3000.0",
                "e2e.jdk.graph.async.p50_us flotilla 200.0",
                "e2e.jdk.graph.async.p99_us flotilla 2000.0",
                "e2e.jdk.graph.async.cpu_a_us flotilla 300.0",
                "e2e.jdk.graph.async.cpu_b_us flotilla 90.0",
                "e2e.jdk.graph.async.ratio_to_plain flotilla 0.7500"),
                h.harnessLines().stream().filter(l -> !l.startsWith("#")).toList(),
                "no open loop for a JDK shape, and the ratio over the plain of the same shape");
    }

    @Test
    void resultsTableShowsThePlainBaselineInBothColumnsAndEachClusterInItsOwn() {
        ResultsTable.Results r = new ResultsTable.Results(List.of(), ResultsTable.parseHarness(List.of(
                "# HttpHarness",
                "e2e.plain.requests_per_s plain 22000.0",
                "e2e.async.requests_per_s flotilla 18000.0",
                "e2e.async.requests_per_s stock 11000.0",
                "e2e.async.ratio_to_plain flotilla 0.8182",
                "e2e.async.ratio_to_plain stock 0.5",
                "e2e.sync.p99_us stock 8000.0",
                "e2e.async.load50.p999_us flotilla 1500.0",
                "e2e.async.load50.p999_us stock 2500.0",
                "e2e.plain.load25.offered_per_s plain 5000.0")));

        List<String> e2e = ResultsTable.csv(ResultsTable.ROWS, r).stream().filter(l -> l.startsWith("e2e.")).toList();

        assertEquals(List.of(
                "e2e.plain.requests_per_s,req/s,higher,22000,22000",
                "e2e.async.requests_per_s,req/s,higher,18000,11000",
                "e2e.async.ratio_to_plain,x,higher,0.8182,0.5",
                "e2e.sync.p99_us,us,lower,,8000",
                "e2e.plain.load25.offered_per_s,req/s,higher,5000,5000",
                "e2e.async.load50.p999_us,us,lower,1500,2500"), e2e);
    }
}
