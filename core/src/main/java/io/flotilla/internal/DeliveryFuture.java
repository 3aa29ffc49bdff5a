package io.flotilla.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The future a send returns. The engine completes it on whichever thread learns the outcome (an I/O thread, for an
 * acknowledgement), so a caller blocked in {@code get()} wakes at once, without a hand-off to another thread; every
 * dependent stage runs on the node's delivery executor, never on the completing thread, whichever method attaches
 * it (the non-async methods behave like their {@code *Async} forms). So no user code ever runs on an I/O thread.
 *
 * <p>A thread that waits in {@code get} or {@code join} first spins for at most the node's
 * {@link io.flotilla.NodeConfig#waitSpin()} (stock Tribes' sender reads its own answer, a parked thread is woken by
 * another: a context switch on each round trip), yielding its core every 32 spins to any thread that needs it (on a
 * small machine, the I/O threads that bring the answer), then parks. Only while it is the only thread of its node
 * waiting for a send, and not for the next {@value WaitSpin#SKIP_AFTER_MISSES} waits after {@value WaitSpin#MISSES}
 * answers in a row took longer than the spin (it would only burn the core the answer needs), so a busy node hardly
 * spins.
 *
 * <p>Threading: as {@link CompletableFuture}.
 */
public final class DeliveryFuture<T> extends CompletableFuture<T> {
    private final Executor executor;
    private final WaitSpin spin;

    DeliveryFuture(Executor executor, WaitSpin spin) {
        this.executor = executor;
        this.spin = spin;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new DeliveryFuture<>(executor, spin);
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        spin.waiters.incrementAndGet();
        try {
            spin.await(this);
            return super.get();
        } finally {
            spin.waiters.decrementAndGet();
        }
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        spin.waiters.incrementAndGet();
        try {
            spin.await(this);
            return super.get(timeout, unit);
        } finally {
            spin.waiters.decrementAndGet();
        }
    }

    @Override
    public T join() {
        spin.waiters.incrementAndGet();
        try {
            spin.await(this);
            return super.join();
        } finally {
            spin.waiters.decrementAndGet();
        }
    }

    /**
     * How the threads waiting for one node's sends spin: at most {@code nanos}, only while a thread is the only one
     * waiting, and not for the next {@value #SKIP_AFTER_MISSES} waits after {@value #MISSES} misses in a row.
     *
     * <p>Threading: shared by every waiting thread of a node; {@code skip} is a racy hint.
     */
    static final class WaitSpin {
        /** Never spins. */
        static final WaitSpin NONE = new WaitSpin(0);
        /** Spins in a row that ended before their answer came, after which waits stop spinning for a while. */
        static final int MISSES = 4;
        /** Waits that do not spin after {@link #MISSES} misses in a row. */
        static final int SKIP_AFTER_MISSES = 64;

        private final long nanos;
        private final AtomicInteger waiters = new AtomicInteger();
        /** Racy hints, written by whichever waiter: misses in a row, and waits left that do not spin. */
        private volatile int misses;
        private volatile int skip;

        WaitSpin(long nanos) {
            this.nanos = nanos;
        }

        /** Spins until {@code f} is done, or its time is up, or another thread waits too. */
        void await(CompletableFuture<?> f) {
            if (nanos <= 0 || f.isDone()) {
                return;
            }
            int s = skip;
            if (s > 0) {
                skip = s - 1;
                return;
            }
            long end = System.nanoTime() + nanos;
            for (int i = 1; !f.isDone(); i++) {
                if (waiters.get() > 1) {
                    return;
                }
                if ((i & 31) != 0) {
                    Thread.onSpinWait();
                    continue;
                }
                Thread.yield();
                if (System.nanoTime() - end > 0) {
                    int m = misses + 1;
                    misses = m >= MISSES ? 0 : m;
                    if (m >= MISSES) {
                        skip = SKIP_AFTER_MISSES;
                    }
                    return;
                }
            }
            misses = 0;
        }
    }

    @Override
    public Executor defaultExecutor() {
        return executor;
    }

    @Override
    public <U> CompletableFuture<U> thenApply(Function<? super T, ? extends U> fn) {
        return thenApplyAsync(fn);
    }

    @Override
    public CompletableFuture<Void> thenAccept(Consumer<? super T> action) {
        return thenAcceptAsync(action);
    }

    @Override
    public CompletableFuture<Void> thenRun(Runnable action) {
        return thenRunAsync(action);
    }

    @Override
    public <U, V> CompletableFuture<V> thenCombine(CompletionStage<? extends U> other,
            BiFunction<? super T, ? super U, ? extends V> fn) {
        return thenCombineAsync(other, fn);
    }

    @Override
    public <U> CompletableFuture<Void> thenAcceptBoth(CompletionStage<? extends U> other,
            BiConsumer<? super T, ? super U> action) {
        return thenAcceptBothAsync(other, action);
    }

    @Override
    public CompletableFuture<Void> runAfterBoth(CompletionStage<?> other, Runnable action) {
        return runAfterBothAsync(other, action);
    }

    @Override
    public <U> CompletableFuture<U> applyToEither(CompletionStage<? extends T> other, Function<? super T, U> fn) {
        return applyToEitherAsync(other, fn);
    }

    @Override
    public CompletableFuture<Void> acceptEither(CompletionStage<? extends T> other, Consumer<? super T> action) {
        return acceptEitherAsync(other, action);
    }

    @Override
    public CompletableFuture<Void> runAfterEither(CompletionStage<?> other, Runnable action) {
        return runAfterEitherAsync(other, action);
    }

    @Override
    public <U> CompletableFuture<U> thenCompose(Function<? super T, ? extends CompletionStage<U>> fn) {
        return thenComposeAsync(fn);
    }

    @Override
    public CompletableFuture<T> whenComplete(BiConsumer<? super T, ? super Throwable> action) {
        return whenCompleteAsync(action);
    }

    /**
     * Runs {@code action} on the thread that completes this future (an I/O thread, for an acknowledgement), or at
     * once on the caller's thread if it is complete: for Flotilla's own short, non-blocking bookkeeping only, which
     * would otherwise cost a hand-off to the delivery executor per message. Never for user code.
     */
    public void whenCompleteInline(BiConsumer<? super T, ? super Throwable> action) {
        super.whenComplete(action);
    }

    @Override
    public <U> CompletableFuture<U> handle(BiFunction<? super T, Throwable, ? extends U> fn) {
        return handleAsync(fn);
    }

    @Override
    public CompletableFuture<T> exceptionally(Function<Throwable, ? extends T> fn) {
        return exceptionallyAsync(fn);
    }

    @Override
    public CompletableFuture<T> exceptionallyCompose(Function<Throwable, ? extends CompletionStage<T>> fn) {
        return exceptionallyComposeAsync(fn);
    }

    /** A minimal stage whose dependents also run on the executor: it is fed through an asynchronous step. */
    @Override
    public CompletionStage<T> minimalCompletionStage() {
        return thenApplyAsync(Function.identity()).minimalCompletionStage();
    }
}
