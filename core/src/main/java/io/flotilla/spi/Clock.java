package io.flotilla.spi;

/**
 * Time as Flotilla reads it: a monotonic nanosecond counter for every timeout, and wall time only for
 * timestamps people read (member start time, session creation).
 *
 * <p>Threading: implementations are safe to call from any thread.
 */
public interface Clock {
    /** Monotonic time in nanoseconds, with an arbitrary origin; only differences mean anything. */
    long nanoTime();

    /** Wall-clock time in milliseconds since the epoch. */
    long currentTimeMillis();

    /** The system clock: {@link System#nanoTime()} and {@link System#currentTimeMillis()}. */
    static Clock system() {
        return SystemClock.INSTANCE;
    }
}

enum SystemClock implements Clock {
    INSTANCE;

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long currentTimeMillis() {
        return System.currentTimeMillis();
    }
}
