package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.bench.ScaleHarness.Options;
import io.flotilla.bench.ScaleHarness.Usage;
import io.flotilla.bench.ScaleHarness.Variant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The scale harness's load layout, its counters and its options, without starting anything. */
class ScaleHarnessTest {

    @Test
    void stickyLoadPutsEachConnectionsSessionsOnOneNodeAndSpreadsConnectionsOverAllNodes() {
        int[] ports = {9000, 9001, 9002, 9003};
        List<List<? extends HttpLoad.Target>> connections = ScaleHarness.connections(
                new Variant(BenchTomcat.Kind.FLOTILLA_BACKUP, 4, true), ports);

        assertEquals(ScaleHarness.CONNECTIONS, connections.size());
        Set<Integer> nodes = new HashSet<>();
        for (int c = 0; c < connections.size(); c++) {
            assertEquals(ScaleHarness.SESSIONS_PER_CONNECTION, connections.get(c).size());
            for (HttpLoad.Target t : connections.get(c)) {
                for (int k = 0; k < 3; k++) {
                    assertEquals(ports[c % 4], t.port(0), "connection " + c + " request " + k);
                }
            }
            nodes.add(connections.get(c).get(0).port(0));
        }
        assertEquals(Set.of(9000, 9001, 9002, 9003), nodes);
    }

    @Test
    void nonStickyLoadSendsEachRequestOfASessionToTheNextNode() {
        int[] ports = {9000, 9001, 9002, 9003};
        List<List<? extends HttpLoad.Target>> connections = ScaleHarness.connections(
                new Variant(BenchTomcat.Kind.FLOTILLA, 4, false), ports);

        HttpLoad.Target s = connections.get(1).get(2); // starts on node (1 + 2) mod 4
        assertEquals(List.of(9003, 9000, 9001, 9002, 9003), List.of(s.port(0), s.port(0), s.port(0), s.port(0),
                s.port(0)));
    }

    @Test
    void socketCountersSumBothEndsOfEachConnectionSinceTheFirstReading() {
        String before = """
                0      0      127.0.0.1:4000 127.0.0.1:50000
                \t cubic bytes_sent:10 bytes_acked:11 data_segs_out:1 data_segs_in:5
                0      0      127.0.0.1:50000 127.0.0.1:4000
                \t cubic bytes_sent:500 bytes_acked:501 bytes_received:10 data_segs_out:5
                """;
        String after = """
                0      0      127.0.0.1:4000 127.0.0.1:50000
                \t cubic bytes_sent:30 bytes_acked:31 data_segs_out:3 data_segs_in:9
                0      0      127.0.0.1:50000 127.0.0.1:4000
                \t cubic bytes_sent:900 bytes_acked:901 bytes_received:30 data_segs_out:9
                0      0      127.0.0.1:50001 127.0.0.1:4001
                \t cubic wscale:7,7 data_segs_in:1
                """;

        long[] since = SocketCounters.parse(after).since(SocketCounters.parse(before));

        assertEquals(20 + 400, since[0], "bytes");
        assertEquals(2 + 4, since[1], "segments");
        assertEquals(3, SocketCounters.parse(after).sockets());
    }

    @Test
    void idleUsageIsScaledToTheWindowAndTakenOff() {
        Usage window = new Usage(5_000, 1_000, 100, 50);
        Usage idle = new Usage(400, 10, 2, -1);

        assertEquals(new Usage(4_000, 975, 95, -1), new Usage(5_000, 1_000, 100, -1).net(idle, 2, 5));
        assertEquals(new Usage(0, 0, 0, 0), new Usage(100, 1, 1, 0).net(new Usage(400, 10, 2, 0), 1, 1),
                "never below zero");
        assertEquals(50, window.net(new Usage(0, 0, 0, 0), 1, 1).messages());
    }

    @Test
    void optionsDefaultToTheModeAndRefuseSizesOutsideTheRange() {
        Options full = Options.parse(new String[0]);
        assertEquals(List.of(2, 4, 8), full.sizes());
        assertEquals(5 * 3 + 2, full.variants().size());
        Options smoke = Options.parse(new String[] {"--mode", "smoke", "--nonsticky", "none"});
        assertEquals(List.of(new Variant(BenchTomcat.Kind.PLAIN, 2, true), new Variant(BenchTomcat.Kind.STOCK, 2, true),
                new Variant(BenchTomcat.Kind.STOCK_BACKUP, 2, true), new Variant(BenchTomcat.Kind.FLOTILLA, 2, true),
                new Variant(BenchTomcat.Kind.FLOTILLA_BACKUP, 2, true)), smoke.variants());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--sizes", "2,1"}));
        assertEquals("--sizes takes cluster sizes in 2..16, got 1", e.getMessage());
        assertEquals("scale.backup.n8.nonsticky.", new Variant(BenchTomcat.Kind.FLOTILLA_BACKUP, 8, false)
                .metricPrefix());
        assertEquals("stock", new Variant(BenchTomcat.Kind.STOCK_BACKUP, 8, true).side());
    }

    @Test
    void theWarmUpIsBoundedByOptionsThatNameTheirValues() {
        Options full = Options.parse(new String[0]);
        assertEquals(3, full.warmupSeconds());
        assertEquals(60, full.maxWarmupSeconds());
        assertEquals(1, Options.parse(new String[] {"--mode", "smoke"}).maxWarmupSeconds());
        assertEquals(90, Options.parse(new String[] {"--warmup", "90"}).maxWarmupSeconds());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Options.parse(new String[] {"--warmup", "10", "--max-warmup", "5"}));
        assertEquals("--max-warmup (5 s) must be at least --warmup (10 s)", e.getMessage());
    }

    @Test
    void theWarmUpEndsWhenTheCpuPerRequestStopsFalling() {
        // One sample a second: 1,000 requests a second throughout.
        assertFalse(ScaleHarness.settled(samples(900, 800, 700, 600, 500, 450, 420, 400)), "the cost still falls");
        assertFalse(ScaleHarness.settled(samples(300, 300, 300, 300, 300, 300, 300)), "fewer than eight intervals");
        assertTrue(ScaleHarness.settled(samples(900, 700, 300, 300, 310, 305, 290, 300, 305, 295)));
        assertTrue(ScaleHarness.settled(samples(300, 330, 270, 300, 310, 280, 320, 290)),
                "within 5% of the four before");
        assertFalse(ScaleHarness.settled(samples(300, 300, 300, 300, 340, 330, 340, 330)), "12% up: not settled");
        assertFalse(ScaleHarness.settled(samples(3000, 3000, 3000, 3000, 1000, 1000, 1000, 1000)),
                "the last two intervals agree with the two before, the last four not with the four before");
        List<ScaleHarness.Sample> stalled = samples(300, 300, 300, 300, 300, 300, 300, 300);
        for (int i = 0; i < ScaleHarness.SETTLED_INTERVALS; i++) {
            stalled.add(stalled.get(stalled.size() - 1)); // no request answered in the last intervals
        }
        assertFalse(ScaleHarness.settled(stalled), "no request in the last intervals");
    }

    /** Cumulative samples from the CPU per request (us) of each one-second interval, 1,000 requests each. */
    private static List<ScaleHarness.Sample> samples(long... microsPerRequest) {
        List<ScaleHarness.Sample> out = new ArrayList<>();
        long cpu = 0;
        long requests = 0;
        out.add(new ScaleHarness.Sample(cpu, requests));
        for (long us : microsPerRequest) {
            cpu += us * 1_000 * 1_000;
            requests += 1_000;
            out.add(new ScaleHarness.Sample(cpu, requests));
        }
        return out;
    }
}
