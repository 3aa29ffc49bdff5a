package io.flotilla.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flotilla.bench.ScaleHarness.Options;
import io.flotilla.bench.ScaleHarness.Usage;
import io.flotilla.bench.ScaleHarness.Variant;
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
}
