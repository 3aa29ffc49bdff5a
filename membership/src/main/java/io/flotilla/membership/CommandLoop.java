package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that owns the member table: it runs commands from a bounded queue, one at a time, in order.
 * Timers, the datagram receiver, probe completions and the service's callers post commands here.
 *
 * <p>On a full queue a command is dropped and counted: datagram commands are dropped first, as soon as the queue is
 * half full ({@link #executeDroppable}), so control commands (probe results, suspicions, close) keep room.
 *
 * <p>Threading: {@link #execute} and {@link #executeDroppable} are safe from any thread and never block. Commands
 * run on the loop thread; a command that throws is logged and the loop goes on.
 */
final class CommandLoop implements Executor {
    private static final System.Logger LOG = System.getLogger(CommandLoop.class.getName());
    private static final Runnable STOP = () -> { };

    private final BlockingQueue<Runnable> queue;
    private final int capacity;
    private final Thread thread;
    private final MembershipMeters meters;
    private final RateLimitedLog dropLog;
    private volatile boolean accepting = true;

    CommandLoop(ThreadFactory threadFactory, int capacity, MembershipMeters meters, RateLimitedLog dropLog) {
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.capacity = capacity;
        this.meters = meters;
        this.dropLog = dropLog;
        this.thread = threadFactory.newThread(this::run);
    }

    void start() {
        thread.start();
    }

    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    @Override
    public void execute(Runnable command) {
        if (!accepting) {
            return; // closed: late timers and probe completions have nothing left to act on
        }
        if (!queue.offer(command)) {
            dropped();
        }
    }

    /** Posts a command that may be shed under load (a datagram): refused once the queue is half full. */
    boolean executeDroppable(Runnable command) {
        if (!accepting) {
            return false;
        }
        if (queue.size() >= capacity / 2 || !queue.offer(command)) {
            dropped();
            return false;
        }
        return true;
    }

    private void dropped() {
        meters.commandsDropped.increment();
        dropLog.log(System.Logger.Level.WARNING, () -> "Membership loop queue is full (" + capacity
                + " commands): dropping a command");
    }

    private void run() {
        try {
            while (true) {
                Runnable command = queue.take();
                if (command == STOP) {
                    return;
                }
                try {
                    command.run();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "Membership command failed; the loop goes on", e);
                }
            }
        } catch (InterruptedException e) {
            // Interrupted by close() when the queue was too full for the stop marker: end the loop.
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs what is queued, then stops, waiting at most {@code timeout}. Returns false if the thread did not end.
     * Idempotent; from the loop thread itself it only stops accepting commands.
     */
    boolean close(Duration timeout) throws InterruptedException {
        accepting = false;
        if (!queue.offer(STOP)) {
            thread.interrupt();
        }
        if (inLoop() || !thread.isAlive()) {
            return true;
        }
        thread.join(TimeUnit.NANOSECONDS.toMillis(timeout.toNanos()) + 1);
        return !thread.isAlive();
    }
}
