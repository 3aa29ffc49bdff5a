package io.flotilla.replication;

/**
 * When the next attempt at something retried at the engine's ticks is due: at the first tick, then after 2, 4, 8
 * ... ticks, at most {@link #MAX_TICKS} apart (32 s at the default 500 ms {@code tickInterval}). Something a member
 * must get while it stays in the view (a heal's digest, the question whether it listens) is retried this way for as
 * long as it stays: giving up would leave it stale for good, and waiting longer each time keeps a member that cannot
 * take it cheap.
 *
 * <p>Threading: not thread-safe; the engine's ticks (one at a time) use it.
 */
final class TickBackoff {
    static final int MAX_TICKS = 64;

    private int wait = 1;
    private int waited;
    private int attempts;

    /** Called once a tick: whether an attempt is due now (and, if so, counts it). */
    boolean due() {
        if (++waited < wait) {
            return false;
        }
        waited = 0;
        wait = Math.min(wait * 2, MAX_TICKS);
        attempts++;
        return true;
    }

    /** The attempts made at ticks so far (not counting the first, made at once). */
    int attempts() {
        return attempts;
    }
}
