package io.flotilla.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.bench.StateTransferHarness;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The state-transfer harness runs end to end in smoke size: for both sides, a child JVM owns 500 sessions, a second
 * joins, receives and checks every one of them (a wrong or missing session makes the harness exit 1), and the
 * harness writes its figures as {@code <metric> <side> <value>} lines and notes whether the joiner's start was
 * blocked. Not a benchmark: no time is compared. Under load (the owner changing sessions all along) Flotilla's joiner
 * receives every session exactly once, from one transfer.
 */
class StateTransferHarnessTest {
    private static final int SESSIONS = 500;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void writesTimeStartAndBytesPerSessionForBothSides(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("statetransfer.txt");

        int exit = StateTransferHarness.run("--sessions", Integer.toString(SESSIONS), "--out", out.toString());

        assertEquals(0, exit, "the harness exits 0 when every joiner held and checked all sessions");
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        Map<String, Double> figures = figures(lines);
        for (String side : List.of("flotilla", "stock")) {
            for (String metric : List.of("ms", "start_ms", "bytes_per_session")) {
                String key = "statetransfer." + SESSIONS + "." + metric + " " + side;
                assertTrue(figures.containsKey(key), key + " in " + lines);
                assertTrue(figures.get(key) > 0, key + " > 0 in " + lines);
            }
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("# statetransfer." + SESSIONS + " " + side + ": the "
                    + "joining web application's start ")), "the blocked note of " + side + " in " + lines);
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void underLoadEverySessionIsStreamedOnceByOneTransfer(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("statetransfer-load.txt");

        int exit = StateTransferHarness.run("--sessions", Integer.toString(SESSIONS), "--impl", "flotilla", "--load",
                "500", "--out", out.toString());

        assertEquals(0, exit, "the joiner held and checked every session while the owner changed them");
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        Map<String, Double> figures = figures(lines);
        String key = "statetransfer." + SESSIONS + ".load.";
        assertEquals(1.0, figures.get(key + "streamed_per_session flotilla"), "each session streamed once: " + lines);
        assertEquals(1.0, figures.get(key + "attempts flotilla"), "the transfer never started again: " + lines);
        assertTrue(figures.get(key + "bytes_per_session flotilla") > 0, lines.toString());
    }

    /** {@code <metric> <side>} to value, from the harness lines ({@code #} notes skipped). */
    private static Map<String, Double> figures(List<String> lines) {
        Map<String, Double> figures = new HashMap<>();
        for (String l : lines) {
            if (!l.startsWith("#")) {
                String[] f = l.trim().split("\\s+");
                assertEquals(3, f.length, "harness line '" + l + "'");
                figures.put(f[0] + " " + f[1], Double.valueOf(f[2]));
            }
        }
        return figures;
    }
}
