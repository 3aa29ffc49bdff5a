package io.flotilla.internal;

import java.util.ArrayList;
import java.util.List;
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
 * <p>A synchronous send that went over a lane ({@link io.flotilla.spi.PeerLane}) carries its {@link LaneWait}: the
 * first thread that waits in {@code get} or {@code join} reads the answer from the lane itself, instead of being woken
 * by the I/O thread that would have read it (one thread woken per round trip, not two). Attaching a dependent, or not
 * waiting within a timer tick, hands the lane to a lane thread, which reads the answer and completes this future as an
 * I/O thread would.
 *
 * <p>Threading: as {@link CompletableFuture}.
 */
public final class DeliveryFuture<T> extends CompletableFuture<T> {
    private final Executor executor;
    private final WaitSpin spin;
    /** The lanes whose answers complete this future (one per member), or null; each is taken by one thread. */
    private volatile List<LaneWait> lanes;

    DeliveryFuture(Executor executor, WaitSpin spin) {
        this.executor = executor;
        this.spin = spin;
    }

    /**
     * Every dependent stage, of whichever method, is made here: a caller that attaches one does not wait on this
     * future itself, so its lanes go to lane threads now.
     */
    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        handOffLanes();
        return new DeliveryFuture<>(executor, spin);
    }

    /** Adds a lane this future's answer comes on; before the future is handed to its caller. */
    void addLane(LaneWait w) {
        List<LaneWait> l = lanes;
        if (l == null) {
            l = new ArrayList<>(1);
        }
        l.add(w);
        lanes = l;
    }

    /**
     * A new incomplete future that the engine completes from its own bookkeeping on {@code from} (a {@link
     * #whenCompleteInline} hook): unlike a dependent stage, it takes the lanes of every
     * {@code from} along, so a thread that waits on it reads their answers itself. Dependents of the result run as on
     * a {@code DeliveryFuture}'s; when no {@code from} is one, a plain {@code newIncompleteFuture} of the first.
     */
    public static <U> CompletableFuture<U> derive(CompletionStage<?>... from) {
        DeliveryFuture<U> d = null;
        for (CompletionStage<?> f : from) {
            if (f instanceof DeliveryFuture<?> df) {
                if (d == null) {
                    d = new DeliveryFuture<>(df.executor, df.spin);
                }
                df.moveLanes(d);
            }
        }
        return d != null ? d : from[0].toCompletableFuture().newIncompleteFuture();
    }

    /** Moves this future's lanes to {@code to}, which completes when this one does (several members' send). */
    void moveLanes(DeliveryFuture<?> to) {
        List<LaneWait> l = lanes;
        lanes = null;
        if (l != null) {
            for (LaneWait w : l) {
                to.addLane(w);
            }
        }
    }

    /** Waits on this future's lanes from the calling thread, until {@code deadline} ({@link System#nanoTime()}). */
    private void readLanes(long deadline) {
        List<LaneWait> l = lanes;
        if (l == null) {
            return;
        }
        for (LaneWait w : l) {
            if (w.take()) {
                w.await(deadline);
            }
        }
    }

    /** Nobody here will wait on this future's lanes: lane threads read them. */
    private void handOffLanes() {
        List<LaneWait> l = lanes;
        if (l == null) {
            return;
        }
        for (LaneWait w : l) {
            if (w.take()) {
                w.handOff();
            }
        }
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        spin.waiters.incrementAndGet();
        try {
            readLanes(Long.MAX_VALUE);
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
            long deadline = LaneWait.deadline(unit.toNanos(timeout));
            readLanes(deadline);
            spin.await(this);
            return super.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } finally {
            spin.waiters.decrementAndGet();
        }
    }

    @Override
    public T join() {
        spin.waiters.incrementAndGet();
        try {
            readLanes(Long.MAX_VALUE);
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

        /** True while a thread of the node waits for a send ({@code get}, {@code join}); a racy hint. */
        boolean anyoneWaits() {
            return waiters.get() > 0;
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
        // The engine's own hook waits for nothing: the lanes stay for whoever waits on this future or on one the
        // engine derives from it (derive), instead of going to lane threads as for a caller's dependent.
        List<LaneWait> l = lanes;
        lanes = null;
        super.whenComplete(action);
        lanes = l;
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
