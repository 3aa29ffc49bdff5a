package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

/**
 * A send's future: a blocked caller wakes on the completing thread; every dependent a caller attaches runs on the
 * delivery executor (whichever method attached it); only the engine's inline bookkeeping runs on the completing
 * thread.
 */
class DeliveryFutureTest {
    /** Queues tasks; the test runs them, so "ran on the executor" is observable without threads. */
    private static final class QueuedExecutor implements Executor {
        final List<Runnable> tasks = new ArrayList<>();

        @Override
        public void execute(Runnable r) {
            tasks.add(r);
        }

        void runAll() {
            while (!tasks.isEmpty()) {
                tasks.remove(0).run();
            }
        }
    }

    @Test
    void dependentsRunOnTheExecutorAndInlineHooksOnTheCompletingThread() {
        QueuedExecutor executor = new QueuedExecutor();
        DeliveryFuture<String> f = new DeliveryFuture<>(executor, DeliveryFuture.WaitSpin.NONE);
        List<String> ran = new ArrayList<>();
        Thread completing = Thread.currentThread();
        f.whenComplete((v, e) -> ran.add("whenComplete " + v));
        f.thenAccept(v -> ran.add("thenAccept " + v));
        f.whenCompleteInline((v, e) -> ran.add("inline " + v + " " + (Thread.currentThread() == completing)));

        f.complete("ok");
        assertEquals(List.of("inline ok true"), ran, "only the inline hook ran during complete()");
        assertEquals(2, executor.tasks.size());
        executor.runAll();
        assertTrue(ran.containsAll(List.of("whenComplete ok", "thenAccept ok")), ran.toString());
    }

    @Test
    void derivedFuturesKeepTheRule() {
        QueuedExecutor executor = new QueuedExecutor();
        DeliveryFuture<String> f = new DeliveryFuture<>(executor, DeliveryFuture.WaitSpin.NONE);
        CompletableFuture<Void> derived = f.newIncompleteFuture().thenApply(v -> null);
        assertSame(DeliveryFuture.class, f.newIncompleteFuture().getClass());
        List<String> ran = new ArrayList<>();
        CompletableFuture<Object> child = f.newIncompleteFuture();
        child.thenRun(() -> ran.add("dependent"));
        child.complete("x");
        assertEquals(List.of(), ran, "a derived future's dependent waits for the executor too");
        executor.runAll();
        assertEquals(List.of("dependent"), ran);
        assertTrue(!derived.isDone());
    }

    @Test
    void aSpinningWaiterStillGetsItsValueAndItsTimeout() throws Exception {
        long spin = TimeUnit.MILLISECONDS.toNanos(1);
        DeliveryFuture<String> never = new DeliveryFuture<>(Runnable::run, new DeliveryFuture.WaitSpin(spin));
        assertThrows(TimeoutException.class, () -> never.get(20, TimeUnit.MILLISECONDS));
        for (int i = 0; i < 200; i++) { // completed while the waiter spins, or after it parked: the same outcome
            DeliveryFuture<String> f = new DeliveryFuture<>(Runnable::run, new DeliveryFuture.WaitSpin(spin));
            String value = "v" + i;
            Thread completer = new Thread(() -> f.complete(value));
            completer.start();
            assertEquals(value, i % 2 == 0 ? f.get(5, TimeUnit.SECONDS) : f.join());
            completer.join(5_000);
        }
        DeliveryFuture<String> failed = new DeliveryFuture<>(Runnable::run, new DeliveryFuture.WaitSpin(spin));
        failed.completeExceptionally(new IllegalStateException("x"));
        assertThrows(ExecutionException.class, failed::get);
    }
}
