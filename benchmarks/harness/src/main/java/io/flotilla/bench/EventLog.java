package io.flotilla.bench;

import io.flotilla.MembershipEvent;
import io.flotilla.MembershipListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Records the membership events of an in-JVM node with the {@link System#nanoTime()} at which the listener saw them,
 * so a test or the harness can wait for an event and time it.
 *
 * <p>Threading: safe from any thread; the node calls {@link #onEvent} on its membership thread.
 */
public final class EventLog implements MembershipListener {
    /** An event and when it was seen. */
    public record Seen(MembershipEvent event, long nanos) {
    }

    private final List<Seen> seen = new ArrayList<>();

    @Override
    public synchronized void onEvent(MembershipEvent event) {
        seen.add(new Seen(event, System.nanoTime()));
        notifyAll();
    }

    /** Every event so far. */
    public synchronized List<Seen> events() {
        return new ArrayList<>(seen);
    }

    /** Every event so far, one per line, with when it was seen in milliseconds relative to {@code originNanos}. */
    public synchronized String timeline(long originNanos) {
        StringBuilder b = new StringBuilder();
        for (Seen s : seen) {
            b.append(String.format(Locale.ROOT, "%n  %+.1f ms %s", (s.nanos() - originNanos) / 1e6, s.event()));
        }
        return b.toString();
    }

    /** The first event seen at or after {@code sinceNanos} that matches, or null. */
    public synchronized Seen find(long sinceNanos, Predicate<MembershipEvent> p) {
        for (Seen s : seen) {
            if (s.nanos() - sinceNanos >= 0 && p.test(s.event())) {
                return s;
            }
        }
        return null;
    }

    /** Waits up to {@code timeoutNanos} for a matching event seen at or after {@code sinceNanos}; null if none. */
    public synchronized Seen await(long sinceNanos, Predicate<MembershipEvent> p, long timeoutNanos) {
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            Seen s = find(sinceNanos, p);
            if (s != null) {
                return s;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /** Matches events about the member at {@code host:port}. */
    public static Predicate<MembershipEvent> about(String hostPort) {
        return e -> (e.member().host() + ":" + e.member().port()).equals(hostPort);
    }

    /** Matches a removal ({@code Left}) with the given gracefulness. */
    public static Predicate<MembershipEvent> left(boolean graceful) {
        return e -> e instanceof MembershipEvent.Left l && l.graceful() == graceful;
    }

    /** Matches any removal. */
    public static Predicate<MembershipEvent> anyLeft() {
        return e -> e instanceof MembershipEvent.Left;
    }

    /** Matches a join. */
    public static Predicate<MembershipEvent> joined() {
        return e -> e instanceof MembershipEvent.Joined;
    }
}
