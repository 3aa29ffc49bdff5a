package io.flotilla.transport.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SelectStrategy;
import io.netty.util.IntSupplier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class SpinningSelectStrategyTest {
    private static final long TEN_SECONDS = TimeUnit.SECONDS.toNanos(10);
    private static final BooleanSupplier NO_TASKS = () -> false;

    /** A selector whose polls find {@code ready} keys from the {@code hit}-th poll on (never with 0), counting polls. */
    private static final class Polls implements IntSupplier {
        final AtomicInteger count = new AtomicInteger();
        private final int hit;
        private final int ready;

        Polls(int hit, int ready) {
            this.hit = hit;
            this.ready = ready;
        }

        @Override
        public int get() {
            return count.incrementAndGet() >= hit && hit > 0 ? ready : 0;
        }
    }

    @Test
    void keysFoundWhileSpinningAreHandledWithoutBlocking() throws Exception {
        Polls polls = new Polls(4, 3);
        assertEquals(3, new SpinningSelectStrategy(TEN_SECONDS, NO_TASKS).calculateStrategy(polls, false));
        assertEquals(4, polls.count.get());
    }

    @Test
    void withTasksOrReadyKeysTheLoopDoesNotSpin() throws Exception {
        Polls nothing = new Polls(0, 0);
        assertEquals(0, new SpinningSelectStrategy(TEN_SECONDS, NO_TASKS).calculateStrategy(nothing, true));
        assertEquals(1, nothing.count.get());
        Polls ready = new Polls(1, 2);
        assertEquals(2, new SpinningSelectStrategy(TEN_SECONDS, NO_TASKS).calculateStrategy(ready, false));
        assertEquals(1, ready.count.get());
    }

    @Test
    void nothingWithinTheWindowBlocks() throws Exception {
        Polls nothing = new Polls(0, 0);
        assertEquals(SelectStrategy.SELECT, new SpinningSelectStrategy(200_000, NO_TASKS).calculateStrategy(nothing, false));
        assertTrue(nothing.count.get() >= 2, "polled again after the first: " + nothing.count.get());
    }

    @Test
    void aTaskHandedToTheLoopEndsTheSpin() throws Exception {
        Polls nothing = new Polls(0, 0);
        // Without the look at the loop's queue it would spin its whole 10 s.
        assertEquals(0, new SpinningSelectStrategy(TEN_SECONDS, () -> nothing.count.get() >= 3)
                .calculateStrategy(nothing, false));
        assertEquals(3, nothing.count.get());
    }

    @Test
    void aLoopSpinningWithNothingToReadRunsSubmittedTasksAtOnce() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, SpinningSelectStrategy.ioHandlers(false, TEN_SECONDS));
        try {
            EventLoop loop = group.next();
            // A task from another thread, while the loop spins with nothing to read: done at once, not in 10 s.
            assertEquals("ran", loop.submit(() -> "ran").get(5, TimeUnit.SECONDS));
            assertEquals("ran again", loop.submit(() -> "ran again").get(5, TimeUnit.SECONDS));
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void spinsThatFindNothingBackOffThenSpinAgain() throws Exception {
        SpinningSelectStrategy strategy = new SpinningSelectStrategy(1, NO_TASKS);
        for (int i = 0; i < SpinningSelectStrategy.MISSES_BEFORE_BACKOFF; i++) {
            Polls nothing = new Polls(0, 0);
            assertEquals(SelectStrategy.SELECT, strategy.calculateStrategy(nothing, false));
            assertEquals(2, nothing.count.get(), "miss " + i + " spun: the first poll and one in the spin");
        }
        for (int i = 0; i < SpinningSelectStrategy.BACKOFF_WAITS; i++) {
            Polls nothing = new Polls(0, 0);
            assertEquals(SelectStrategy.SELECT, strategy.calculateStrategy(nothing, false));
            assertEquals(1, nothing.count.get(), "wait " + i + " of the back-off blocks after one poll");
        }
        Polls again = new Polls(0, 0);
        assertEquals(SelectStrategy.SELECT, strategy.calculateStrategy(again, false));
        assertEquals(2, again.count.get(), "spins again after the back-off");
    }

    @Test
    void aSpinThatFindsKeysResetsTheMisses() throws Exception {
        SpinningSelectStrategy strategy = new SpinningSelectStrategy(1, NO_TASKS);
        for (int i = 0; i < 3 * SpinningSelectStrategy.MISSES_BEFORE_BACKOFF; i++) {
            Polls nothing = new Polls(0, 0);
            assertEquals(SelectStrategy.SELECT, strategy.calculateStrategy(nothing, false));
            assertEquals(2, nothing.count.get(), "round " + i + ": never backs off while every other spin finds keys");
            assertEquals(1, strategy.calculateStrategy(new Polls(2, 1), false), "the spin's poll found the key");
        }
    }
}
