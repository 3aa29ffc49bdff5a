package io.flotilla.membership;

import io.flotilla.internal.RateLimitedLog;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The member table's one writer: a thread that runs commands from a bounded queue, one at a time, in order.
 * Timers, the datagram receiver, probe completions and the service's callers post commands here.
 *
 * <p>On a full queue a command is dropped and counted: datagram commands are dropped first, as soon as the queue is
 * half full ({@link #executeDroppable}), so control commands (probe results, suspicions, close) keep room.
 *
 * <p>A datagram's command may run on the receiving thread itself when the loop is idle ({@link #runHereOrPost}):
 * nothing queued and nothing running, so the order of commands is the order they were posted in, and one command
 * runs at a time. That saves the loop thread's wake-up (on a loaded host, 0.1 to 1 ms for a leave datagram).
 *
 * <p>Threading: {@link #execute}, {@link #executeDroppable} and {@link #runHereOrPost} are safe from any thread and
 * never wait for another command (the last runs its command itself, or posts it). Commands run one at a time, on the
 * loop thread or inline; a command that throws is logged and the loop goes on.
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
    /** Held while a command runs, on the loop thread or inline. */
    private final ReentrantLock running = new ReentrantLock();
    /** Commands queued and not yet run to the end (the stop marker not counted). */
    private final AtomicInteger pending = new AtomicInteger();

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

    /** Whether the calling thread is the loop thread, or runs a command inline. */
    boolean inLoop() {
        return Thread.currentThread() == thread || running.isHeldByCurrentThread();
    }

    @Override
    public void execute(Runnable command) {
        if (!accepting) {
            return; // closed: late timers and probe completions have nothing left to act on
        }
        if (!offer(command)) {
            dropped();
        }
    }

    /** Posts a command that may be shed under load (a datagram): refused once the queue is half full. */
    boolean executeDroppable(Runnable command) {
        if (!accepting) {
            return false;
        }
        if (queue.size() >= capacity / 2 || !offer(command)) {
            dropped();
            return false;
        }
        return true;
    }

    /**
     * Runs a command that may be shed under load (a datagram) on the calling thread when nothing is queued or running,
     * else posts it as {@link #executeDroppable} does. Returns false when it was shed.
     */
    boolean runHereOrPost(Runnable command) {
        if (!accepting) {
            return false;
        }
        // not from inside a command (the lock is reentrant): that one would run within the other
        if (pending.get() == 0 && !running.isHeldByCurrentThread() && running.tryLock()) {
            try {
                if (pending.get() == 0) {
                    runOne(command);
                    return true;
                }
            } finally {
                running.unlock();
            }
        }
        return executeDroppable(command);
    }

    private boolean offer(Runnable command) {
        pending.incrementAndGet(); // before it is visible in the queue: an inline command never overtakes it
        if (queue.offer(command)) {
            return true;
        }
        pending.decrementAndGet();
        return false;
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
                running.lock();
                try {
                    runOne(command);
                } finally {
                    pending.decrementAndGet();
                    running.unlock();
                }
            }
        } catch (InterruptedException e) {
            // Interrupted by close() when the queue was too full for the stop marker: end the loop.
            Thread.currentThread().interrupt();
        }
    }

    private static void runOne(Runnable command) {
        try {
            command.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "Membership command failed; the loop goes on", e);
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
