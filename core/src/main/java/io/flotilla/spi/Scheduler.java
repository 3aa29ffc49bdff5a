package io.flotilla.spi;

/**
 * Runs tasks after a delay measured on the node's {@link Clock}. The default runs them on one named daemon
 * thread per node; tests use a manual implementation that runs due tasks when they advance the clock.
 *
 * <p>Threading: {@link #schedule} is safe from any thread. Tasks must be short and must not block: they share one
 * thread.
 */
public interface Scheduler extends AutoCloseable {
    /** A scheduled task that can be cancelled. Cancelling a task that already ran does nothing. */
    interface Cancellable {
        void cancel();
    }

    /** Runs {@code task} once, {@code delayNanos} from now. A task that throws is logged and dropped. */
    Cancellable schedule(Runnable task, long delayNanos);

    /** Stops running tasks; pending ones are dropped. Idempotent. */
    @Override
    void close();
}
