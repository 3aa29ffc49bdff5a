package io.flotilla.transport.netty;

import io.flotilla.spi.Clock;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * WARN lines about untrusted input, at most one per reason per interval, with the count of lines suppressed
 * since the previous one: a flood of bad connections cannot flood the log.
 *
 * <p>Threading: safe from any thread.
 */
final class RateLimitedLog {
    private static final class Slot {
        long lastNanos;
        boolean logged;
        long suppressed;
    }

    private final Logger logger;
    private final Clock clock;
    private final long intervalNanos;
    private final ConcurrentMap<String, Slot> slots = new ConcurrentHashMap<>();

    RateLimitedLog(Logger logger, Clock clock, long intervalNanos) {
        this.logger = logger;
        this.clock = clock;
        this.intervalNanos = intervalNanos;
    }

    /** Logs {@code message} at WARN unless a line for {@code reason} was logged within the interval. */
    void warn(String reason, String message) {
        Slot slot = slots.computeIfAbsent(reason, r -> new Slot());
        long suppressed;
        synchronized (slot) {
            long now = clock.nanoTime();
            if (slot.logged && now - slot.lastNanos < intervalNanos) {
                slot.suppressed++;
                return;
            }
            suppressed = slot.suppressed;
            slot.suppressed = 0;
            slot.lastNanos = now;
            slot.logged = true;
        }
        if (suppressed > 0) {
            logger.log(Level.WARNING, "{0} ({1} similar [{2}] suppressed)", message, suppressed, reason);
        } else {
            logger.log(Level.WARNING, message);
        }
    }
}
