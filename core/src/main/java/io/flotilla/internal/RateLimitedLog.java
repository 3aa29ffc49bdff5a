package io.flotilla.internal;

import io.flotilla.spi.Clock;
import java.lang.System.Logger.Level;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Logs at most one line per key per interval, and tells in the next line how many were suppressed. For
 * conditions a peer can trigger at will (bad frames, drops), so a hostile peer cannot flood the log.
 *
 * <p>Threading: safe from any thread.
 */
public final class RateLimitedLog {
    private final System.Logger logger;
    private final Clock clock;
    private final long intervalNanos;
    private final ConcurrentHashMap<String, Slot> slots = new ConcurrentHashMap<>();

    private static final class Slot {
        final AtomicLong nextNanos;
        final AtomicLong suppressed = new AtomicLong();

        Slot(long now) {
            nextNanos = new AtomicLong(now);
        }
    }

    public RateLimitedLog(System.Logger logger, Clock clock, long intervalNanos) {
        this.logger = logger;
        this.clock = clock;
        this.intervalNanos = intervalNanos;
    }

    /** Logs {@code message} under {@code key} unless a line with that key was logged within the interval. */
    public void log(Level level, String key, String message, Throwable cause) {
        log(level, key, () -> message, cause);
    }

    public void log(Level level, String key, String message) {
        log(level, key, () -> message, null);
    }

    /** For a limiter that guards one kind of message; the text is built only when a line is written. */
    public void log(Level level, Supplier<String> message) {
        log(level, "", message, null);
    }

    private void log(Level level, String key, Supplier<String> message, Throwable cause) {
        if (!logger.isLoggable(level)) {
            return;
        }
        long now = clock.nanoTime();
        Slot slot = slots.computeIfAbsent(key, k -> new Slot(now));
        long next = slot.nextNanos.get();
        if (now - next < 0 || !slot.nextNanos.compareAndSet(next, now + intervalNanos)) {
            slot.suppressed.incrementAndGet();
            return;
        }
        long suppressed = slot.suppressed.getAndSet(0);
        String text = message.get();
        text = suppressed == 0 ? text : text + " (" + suppressed + " similar suppressed)";
        if (cause == null) {
            logger.log(level, text);
        } else {
            logger.log(level, text, cause);
        }
    }
}
