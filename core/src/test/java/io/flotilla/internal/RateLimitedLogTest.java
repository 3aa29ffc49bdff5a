package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testing.ManualClock;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.text.MessageFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class RateLimitedLogTest {
    /** A logger that keeps the formatted lines. */
    static final class CapturingLogger implements Logger {
        final List<String> lines = new ArrayList<>();

        @Override
        public String getName() {
            return "capture";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            lines.add(msg);
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            lines.add(params == null || params.length == 0 ? format : MessageFormat.format(format, params));
        }

        @Override
        public void log(Level level, Supplier<String> supplier) {
            lines.add(supplier.get());
        }
    }

    @Test
    void logsOneLinePerReasonPerIntervalAndCountsTheSuppressedOnes() {
        ManualClock clock = new ManualClock();
        CapturingLogger logger = new CapturingLogger();
        RateLimitedLog log = new RateLimitedLog(logger, clock, Duration.ofSeconds(10).toNanos());
        for (int i = 0; i < 5; i++) {
            log.log(Level.WARNING, "bad_magic", "bad " + i);
        }
        log.log(Level.WARNING, "too_large", "large");
        assertEquals(List.of("bad 0", "large"), logger.lines);
        clock.advance(Duration.ofSeconds(9));
        log.log(Level.WARNING, "bad_magic", "bad 5");
        assertEquals(2, logger.lines.size());
        clock.advance(Duration.ofSeconds(1));
        log.log(Level.WARNING, "bad_magic", "bad 6");
        assertEquals(3, logger.lines.size());
        assertTrue(logger.lines.get(2).startsWith("bad 6 (5 similar suppressed)"), logger.lines.get(2));
    }
}
