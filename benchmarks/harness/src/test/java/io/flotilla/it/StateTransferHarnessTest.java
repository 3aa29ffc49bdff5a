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
 * blocked. Not a benchmark: no figure is compared.
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
        Map<String, Double> figures = new HashMap<>();
        for (String l : lines) {
            if (!l.startsWith("#")) {
                String[] f = l.trim().split("\\s+");
                assertEquals(3, f.length, "harness line '" + l + "'");
                figures.put(f[0] + " " + f[1], Double.valueOf(f[2]));
            }
        }
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
}
