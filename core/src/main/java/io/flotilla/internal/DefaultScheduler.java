package io.flotilla.internal;

import io.flotilla.spi.Scheduler;
import java.lang.System.Logger.Level;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The standard {@link Scheduler}: one daemon thread per node running short timer tasks on system nanotime.
 *
 * <p>Threading: safe from any thread; tasks run on the scheduler's single thread.
 */
public final class DefaultScheduler implements Scheduler {
    private static final System.Logger LOG = System.getLogger(DefaultScheduler.class.getName());
    private final ScheduledThreadPoolExecutor executor;

    public DefaultScheduler(ThreadFactory threads) {
        executor = new ScheduledThreadPoolExecutor(1, threads);
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
        if (executor.isShutdown()) {
            return () -> { };
        }
        var future = executor.schedule(() -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.log(Level.WARNING, "timer task failed; it is dropped", e);
            }
        }, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
        return () -> future.cancel(false);
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(2, TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "scheduler thread did not stop within 2 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
