package io.flotilla.membership;

import io.flotilla.spi.Scheduler;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** A real {@link Scheduler} for socket tests: one named daemon thread on the system clock. */
final class ThreadScheduler implements Scheduler {
    private final ScheduledThreadPoolExecutor executor;

    ThreadScheduler(String name) {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
        ScheduledFuture<?> f = executor.schedule(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                System.getLogger(ThreadScheduler.class.getName()).log(System.Logger.Level.WARNING,
                        "scheduled task failed", e);
            }
        }, delayNanos, TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
