package io.flotilla.membership;

import io.flotilla.spi.Clock;
import java.util.function.Supplier;

/**
 * Logs at most one message per interval and says how many were held back, so a flood of bad datagrams cannot
 * flood the log.
 *
 * <p>Threading: safe from any thread.
 */
final class RateLimitedLog {
    private final System.Logger log;
    private final Clock clock;
    private final long intervalNanos;
    private long lastNanos;
    private boolean logged;
    private long suppressed;

    RateLimitedLog(System.Logger log, Clock clock, long intervalNanos) {
        this.log = log;
        this.clock = clock;
        this.intervalNanos = intervalNanos;
    }

    void log(System.Logger.Level level, Supplier<String> message) {
        long held;
        synchronized (this) {
            long now = clock.nanoTime();
            if (logged && now - lastNanos < intervalNanos) {
                suppressed++;
                return;
            }
            logged = true;
            lastNanos = now;
            held = suppressed;
            suppressed = 0;
        }
        if (log.isLoggable(level)) {
            log.log(level, message.get() + (held == 0 ? "" : " (" + held + " similar messages held back)"));
        }
    }
}
