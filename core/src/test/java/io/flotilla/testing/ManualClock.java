package io.flotilla.testing;

import io.flotilla.spi.Clock;
import io.flotilla.spi.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * A clock and scheduler that only move when a test calls {@link #advance}. Due tasks run on the advancing thread,
 * in time order (ties in scheduling order), including tasks they schedule that fall due within the advance.
 *
 * <p>Threading: safe from any thread; tasks run on the thread that calls {@link #advance} or {@link #runDue()}.
 */
public final class ManualClock implements Clock, Scheduler {
    private final Object lock = new Object();
    private final PriorityQueue<Task> tasks = new PriorityQueue<>();
    private long nanos;
    private long wallOffsetMillis = 1_700_000_000_000L;
    private long sequence;
    private boolean closed;

    private static final class Task implements Comparable<Task>, Cancellable {
        final long due;
        final long seq;
        final Runnable runnable;
        volatile boolean cancelled;

        Task(long due, long seq, Runnable runnable) {
            this.due = due;
            this.seq = seq;
            this.runnable = runnable;
        }

        @Override
        public int compareTo(Task o) {
            int c = Long.compare(due, o.due);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    @Override
    public long nanoTime() {
        synchronized (lock) {
            return nanos;
        }
    }

    @Override
    public long currentTimeMillis() {
        synchronized (lock) {
            return wallOffsetMillis + nanos / 1_000_000L;
        }
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
        synchronized (lock) {
            Task t = new Task(nanos + Math.max(0, delayNanos), sequence++, task);
            if (!closed) {
                tasks.add(t);
            }
            return t;
        }
    }

    /** Moves time forward by {@code d}, running every task that falls due on the way at its own time. */
    public void advance(Duration d) {
        advanceNanos(d.toNanos());
    }

    public void advanceNanos(long delta) {
        long target;
        synchronized (lock) {
            target = nanos + delta;
        }
        while (true) {
            Task next;
            synchronized (lock) {
                next = tasks.peek();
                if (next == null || next.due > target) {
                    nanos = target;
                    return;
                }
                tasks.poll();
                nanos = Math.max(nanos, next.due);
            }
            if (!next.cancelled) {
                next.runnable.run();
            }
        }
    }

    /**
     * Moves time forward by {@code d} without running anything on the way, as a process that was stopped (SIGSTOP, a
     * long GC pause) sees it when it resumes; then runs every task that fell due meanwhile, late, at the new time (in
     * due order).
     */
    public void jump(Duration d) {
        synchronized (lock) {
            nanos += d.toNanos();
        }
        runDue();
    }

    /** Runs the tasks due now without moving time. */
    public void runDue() {
        advanceNanos(0);
    }

    /** How many tasks wait, cancelled ones included. */
    public int pendingTasks() {
        synchronized (lock) {
            return tasks.size();
        }
    }

    /** The due times of pending tasks, relative to now, for assertions. */
    public List<Long> pendingDelaysNanos() {
        synchronized (lock) {
            List<Long> out = new ArrayList<>();
            for (Task t : tasks) {
                if (!t.cancelled) {
                    out.add(t.due - nanos);
                }
            }
            out.sort(null);
            return out;
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            tasks.clear();
        }
    }
}
