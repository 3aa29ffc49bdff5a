package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.testing.InMemoryCluster;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

/**
 * A write's delta is applied on the I/O thread that read it ({@link io.flotilla.MessageListener#inline}), which saves
 * a synchronous write a hand-off on the holder and an asynchronous one the holder's CPU of it, except where the
 * application's code would run there: a replica listener hears its changes on a delivery thread only, and a delta of a
 * session the holder owns too (a contest, which takes the session's lock) goes there as well. Member 1's delivery executor queues its tasks while {@link #hold} is
 * set, so the test sees which way each delta went.
 */
class InlineApplyTest {
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean hold;
    private boolean inTask;
    private EngineHarness h;

    private void startTwo(ReplicaListener listener) {
        startTwo(listener, Delivery.PROCESSED);
    }

    private void startTwo(ReplicaListener listener, Delivery delivery) {
        Executor gated = r -> {
            if (hold) {
                tasks.add(r);
            } else {
                r.run();
            }
        };
        Executor direct = Runnable::run;
        h = new EngineHarness(new InMemoryCluster(2, 13, EngineHarness.nodeConfig(100), i -> i == 1 ? gated : direct));
        ReplicationConfig config = ReplicationConfig.builder().delivery(delivery).build();
        h.start(0, config);
        h.start(1, config, listener);
        h.engine(0).create("S1", 1800);
        assertTrue(write(1), "the first write, with every delivery running");
        hold = true;
    }

    private boolean write(long n) {
        h.engine(0).find("S1").orElseThrow().setAttribute("n", n);
        CompletableFuture<Void> f = h.engine(0).replicate("S1").toCompletableFuture();
        return h.runUntil(f::isDone, 200) && !f.isCompletedExceptionally();
    }

    private long ownerVersion() {
        return h.engine(0).find("S1").orElseThrow().version();
    }

    private void runTasks() {
        hold = false;
        inTask = true;
        try {
            for (int n = 0; n < 1000 && !tasks.isEmpty(); n++) {
                tasks.poll().run();
            }
        } finally {
            inTask = false;
        }
    }

    @Test
    void aDeltaIsAppliedWhereItWasReadWithoutTheDeliveryExecutor() {
        startTwo(null);
        try {
            assertTrue(write(2), "acknowledged with the holder's delivery executor never run");
            assertEquals(ownerVersion(), h.engine(1).replica("S1").orElseThrow().version());
        } finally {
            h.close();
        }
    }

    @Test
    void anAsynchronousDeltaIsAppliedWhereItWasReadToo() {
        startTwo(null, Delivery.ASYNC);
        try {
            assertTrue(write(2));
            long version = ownerVersion();
            assertTrue(h.runUntil(() -> h.engine(1).replica("S1").map(r -> r.version() == version).orElse(false),
                    200), "applied with the holder's delivery executor never run");
            assertTrue(tasks.isEmpty());
        } finally {
            h.close();
        }
    }

    @Test
    void aDeltaOfASessionTheHolderOwnsTooGoesToADeliveryThreadForItsContest() {
        startTwo(null);
        try {
            h.engine(1).create("S2", 1800); // as both sides of a partition may
            h.engine(0).create("S2", 1800);
            h.engine(0).find("S2").orElseThrow().setAttribute("n", 1L);
            CompletableFuture<Void> f = h.engine(0).replicate("S2").toCompletableFuture();
            assertFalse(h.runUntil(f::isDone, 200), "not taken where it was read");
            assertFalse(tasks.isEmpty());
            runTasks();
            assertTrue(h.runUntil(f::isDone, 200), "the contest answered it");
        } finally {
            h.close();
        }
    }

    @Test
    void aReplicaListenerHearsOfADeltaOnADeliveryThreadOnly() {
        List<Boolean> heardInTask = new ArrayList<>();
        startTwo(change -> heardInTask.add(inTask));
        try {
            heardInTask.clear();
            assertFalse(write(2), "not applied where it was read: it waits for the delivery executor");
            runTasks();
            long version = ownerVersion();
            assertTrue(h.runUntil(() -> h.engine(1).replica("S1").map(r -> r.version() == version).orElse(false),
                    200));
            assertEquals(List.of(true), heardInTask);
        } finally {
            h.close();
        }
    }
}
