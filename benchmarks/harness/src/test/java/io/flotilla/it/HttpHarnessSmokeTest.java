package io.flotilla.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.bench.HttpHarness;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link HttpHarness} runs end to end in smoke mode, Flotilla side only (plain, Flotilla async, Flotilla sync: three
 * Tomcats in five JVMs started and stopped by PID, 1 s of warm-up and 1 s of load each, then 1 s in an open loop at
 * each of 25, 50 and 75% of the peak, on 127.0.0.1): every
 * request answered with its session's next counter (the harness throws at the first error), and a figure for every
 * metric line {@code ResultsTable} shows on the Flotilla side. Not a benchmark: no speed is asserted.
 */
class HttpHarnessSmokeTest {

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void smokeRunOfTheFlotillaSideAnswersEveryRequestAndWritesEveryMetric() {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        List<String> lines;
        try (PrintStream log = new PrintStream(progress, true, StandardCharsets.UTF_8)) {
            lines = HttpHarness.runToLines(List.of("--mode", "smoke", "--impl", "flotilla"), log);
        } finally {
            System.out.print(progress.toString(StandardCharsets.UTF_8));
        }

        Map<String, Double> figures = new LinkedHashMap<>();
        for (String l : lines) {
            if (!l.startsWith("#")) {
                String[] f = l.split(" ");
                assertEquals(3, f.length, "a harness line is '<metric> <side> <value>': " + l);
                figures.put(f[0] + " " + f[1], Double.valueOf(f[2]));
            }
        }
        // Every metric of HttpHarness.metrics, with the side that ran: plain's rows for plain, the others Flotilla's.
        List<String> expected = HttpHarness.metrics(List.of(25, 50, 75)).stream()
                .map(m -> m + (m.contains(".plain.") ? " plain" : " flotilla")).toList();
        assertEquals(expected, List.copyOf(figures.keySet()), String.join("\n", lines));
        figures.forEach((k, v) -> assertTrue(v > 0, k + " = " + v));
        assertTrue(lines.stream().noneMatch(l -> l.contains("FAILED")), String.join("\n", lines));
    }
}
