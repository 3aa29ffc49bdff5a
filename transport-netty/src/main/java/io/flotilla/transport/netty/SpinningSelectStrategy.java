package io.flotilla.transport.netty;

import io.netty.channel.DefaultSelectStrategyFactory;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.IntSupplier;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.nio.channels.spi.SelectorProvider;
import java.util.function.BooleanSupplier;

/**
 * An event loop's choice before it blocks ({@link NettyTransportConfig#ioSpin}): poll the selector (a non-blocking
 * {@code selectNow}) for up to {@code spinNanos}, yielding the CPU between polls, and block only when nothing came.
 * A frame that arrives within the window is read without the loop's wake-up from {@code epoll_wait}, which on virtual
 * machines that halt an idle CPU costs tens of microseconds. A task handed to the loop ends the spin at once.
 *
 * <p>Adaptive, so sparse traffic pays nothing: after {@value #MISSES_BEFORE_BACKOFF} spins in a row found nothing,
 * the next {@value #BACKOFF_WAITS} waits block at once.
 *
 * <p>Threading: one instance per event loop (Netty asks its factory once per loop), used by that loop's thread only.
 */
final class SpinningSelectStrategy implements SelectStrategy {
    static final int MISSES_BEFORE_BACKOFF = 8;
    static final int BACKOFF_WAITS = 64;

    private final long spinNanos;
    private final BooleanSupplier tasksWaiting;
    private int misses;
    private int blockAtOnce;

    /** @param tasksWaiting whether the loop has a task queued (read by the loop's own thread) */
    SpinningSelectStrategy(long spinNanos, BooleanSupplier tasksWaiting) {
        this.spinNanos = spinNanos;
        this.tasksWaiting = tasksWaiting;
    }

    /**
     * The event loops' I/O handlers: epoll's or NIO's, each loop with a strategy of its own that spins up to {@code
     * spinNanos} (0: Netty's default, which blocks at once).
     */
    static IoHandlerFactory ioHandlers(boolean epoll, long spinNanos) {
        return loop -> {
            SelectStrategyFactory strategy = spinNanos > 0 && loop instanceof SingleThreadEventExecutor tasks
                    ? () -> new SpinningSelectStrategy(spinNanos, () -> tasks.pendingTasks() > 0)
                    : DefaultSelectStrategyFactory.INSTANCE;
            IoHandlerFactory handlers = epoll ? EpollIoHandler.newFactory(0, strategy)
                    : NioIoHandler.newFactory(SelectorProvider.provider(), strategy);
            return handlers.newHandler(loop);
        };
    }

    @Override
    public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
        int ready = selectSupplier.get();
        if (hasTasks || ready > 0) {
            return ready;
        }
        if (blockAtOnce > 0) {
            blockAtOnce--;
            return SelectStrategy.SELECT;
        }
        long deadline = System.nanoTime() + spinNanos;
        do {
            Thread.yield();
            ready = selectSupplier.get();
            if (ready > 0 || tasksWaiting.getAsBoolean()) {
                misses = 0;
                return ready;
            }
        } while (System.nanoTime() - deadline < 0);
        if (++misses >= MISSES_BEFORE_BACKOFF) {
            misses = 0;
            blockAtOnce = BACKOFF_WAITS;
        }
        return SelectStrategy.SELECT;
    }
}
