package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

import org.junit.jupiter.api.Test;

import io.flotilla.bench.ResultsTable.Better;
import io.flotilla.bench.ResultsTable.Results;
import io.flotilla.bench.ResultsTable.Row;

class ResultsTableTest {

    private static Results sample() throws IOException {
        String json;
        try (InputStream in = ResultsTableTest.class.getResourceAsStream("jmh-sample.json")) {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        Map<String, Double> harness = ResultsTable.parseHarness(List.of(
                "# stock integer: a comment for people",
                "",
                "delta.integer.bytes stock 714",
                "delta.integer.bytes flotilla 60"));
        return new Results(ResultsTable.parseJmh(json), harness);
    }

    @Test
    void convertsJmhJsonAndHarnessLinesIntoCsvRowsOfMeasuredFigures() throws IOException {
        List<String> csv = ResultsTable.csv(ResultsTable.ROWS, sample());

        assertEquals(List.of(
                "metric,unit,better,flotilla,stock",
                "channel.async.1KiB.msgs_per_s,msgs/s,higher,,138001",
                "channel.async.16KiB.msgs_per_s,msgs/s,higher,,8000",
                "channel.async.1KiB.MB_per_s,MB/s,higher,,141.31",
                "channel.async.16KiB.MB_per_s,MB/s,higher,,131.07",
                "channel.async.out_of_order,%,lower,,50",
                "channel.sync.1KiB.p50_us,us,lower,,102",
                "channel.sync.1KiB.p99_us,us,lower,,410.5",
                "delta.integer.ns_per_op,ns,lower,,14540",
                "delta.integer.alloc_B_per_op,B,lower,,21805",
                "delta.integer.bytes,B,lower,60,714"), csv);
    }

    @Test
    void fillsTheFlotillaColumnFromTheSourceNamedInItsRow() throws IOException {
        List<Row> rows = List.of(
                new Row("channel.async.1KiB.msgs_per_s", "msgs/s", Better.HIGHER,
                        ResultsTable.perSecond(ResultsTable.STOCK_ASYNC, "size=16384"),
                        ResultsTable.perSecond(ResultsTable.STOCK_ASYNC, "size=1024")),
                new Row("delta.integer.bytes", "B", Better.LOWER,
                        ResultsTable.harness("delta.integer.bytes", "flotilla"),
                        ResultsTable.harness("delta.integer.bytes", "stock")),
                new Row("channel.async.100B.msgs_per_s", "msgs/s", Better.HIGHER, ResultsTable.NONE,
                        ResultsTable.perSecond(ResultsTable.STOCK_ASYNC, "size=100")));

        assertEquals(List.of(
                "metric,unit,better,flotilla,stock",
                "channel.async.1KiB.msgs_per_s,msgs/s,higher,8000,138001",
                "delta.integer.bytes,B,lower,60,714"), ResultsTable.csv(rows, sample()));
    }

    @Test
    void ratioSaysHowManyTimesBetterFlotillaIs() {
        assertEquals("5.00x", ResultsTable.ratio(Better.HIGHER, OptionalDouble.of(690_000), OptionalDouble.of(138_000)));
        assertEquals("11.90x", ResultsTable.ratio(Better.LOWER, OptionalDouble.of(60), OptionalDouble.of(714)));
        assertEquals("inf", ResultsTable.ratio(Better.LOWER, OptionalDouble.of(0), OptionalDouble.of(95)));
        assertEquals("-", ResultsTable.ratio(Better.LOWER, OptionalDouble.empty(), OptionalDouble.of(95)));
    }

    @Test
    void refusesMalformedJsonWithItsOffset() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ResultsTable.parseJmh("[ { \"benchmark\" : } ]"));
        // The offset is the parser's (Jackson's) and its reason follows; the wording of the reason is Jackson's own.
        assertTrue(e.getMessage().startsWith("bad JSON at offset 18: Unexpected character ('}'"), e.getMessage());
    }

    @Test
    void refusesContentAfterTheResultArrayAndARootThatIsNoArray() {
        IllegalArgumentException trailing = assertThrows(IllegalArgumentException.class,
                () -> ResultsTable.parseJmh("[ ] [ ]"));
        assertTrue(trailing.getMessage().startsWith("bad JSON at offset "), trailing.getMessage());
        IllegalArgumentException object = assertThrows(IllegalArgumentException.class,
                () -> ResultsTable.parseJmh("{ \"benchmark\" : \"x\" }"));
        assertEquals("a JMH JSON result file is an array, this is not", object.getMessage());
    }

    @Test
    void replicationAndStateTransferRowsTakeTheirSidesFromTheirOwnSources() {
        Map<String, Object> flotillaLatency = Map.of("score", 30.0, "scoreUnit", "us/op",
                "scorePercentiles", Map.of("50.0", 60.0, "99.0", 200.0));
        Map<String, Object> stockLatency = Map.of("score", 150.0, "scoreUnit", "us/op",
                "scorePercentiles", Map.of("50.0", 120.0, "99.0", 1300.0));
        Map<String, Object> alloc = Map.of("gc.alloc.rate.norm", Map.of("score", 6000.0));
        List<ResultsTable.Entry> entries = List.of(
                new ResultsTable.Entry(ResultsTable.FLOTILLA_REPLICATION_LATENCY, Map.of("mode", "sync"),
                        flotillaLatency, Map.of()),
                new ResultsTable.Entry(ResultsTable.STOCK_REPLICATION_LATENCY, Map.of("mode", "sync"), stockLatency,
                        Map.of()),
                new ResultsTable.Entry(ResultsTable.FLOTILLA_REPLICATION_THROUGHPUT, Map.of("mode", "sync"),
                        Map.of("score", 17.5, "scoreUnit", "ops/ms"), alloc));
        Results results = new Results(entries, ResultsTable.parseHarness(List.of(
                "statetransfer.100k.ms flotilla 900.5", "statetransfer.100k.ms stock 2558.6",
                "# statetransfer.100k stock: the joining web application's start was blocked")));

        List<String> csv = ResultsTable.csv(ResultsTable.ROWS, results);

        assertEquals(List.of(
                "metric,unit,better,flotilla,stock",
                "replication.sync.p50_us,us,lower,60,120",
                "replication.sync.p99_us,us,lower,200,1300",
                "replication.sync.ops_per_s,ops/s,higher,17500,",
                "replication.sync.alloc_B_per_op,B,lower,6000,",
                "statetransfer.100k.ms,ms,lower,900.5,2559"), csv);
    }

    @Test
    void scaleRowsPairFlotillaModesWithTheirStockManagers() {
        Results results = new Results(List.of(), ResultsTable.parseHarness(List.of(
                "scale.backup.n8.segments_per_req flotilla 1.95", "scale.backup.n8.segments_per_req stock 2.01",
                "scale.all.n4.nonsticky.messages_per_req flotilla 4.20")));

        assertEquals(List.of(
                "metric,unit,better,flotilla,stock",
                "scale.backup.n8.segments_per_req,count,lower,1.95,2.01",
                "scale.all.n4.nonsticky.messages_per_req,count,lower,4.2,"),
                ResultsTable.csv(ResultsTable.ROWS, results));
    }
}
