package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Message;
import io.flotilla.MessageListener;
import io.flotilla.NodeConfig;
import io.flotilla.SendQueueFullException;
import io.flotilla.testing.InMemoryCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * {@link MessageListener#inline}: a message (of any delivery) whose listeners all take it inline runs on the thread
 * that read it, not through the delivery executor; any other, and anything behind a message that waits for the
 * executor, goes through it, so per-sender order holds across topics; a send from a listener running inline never
 * waits for queue room. Member 1's delivery executor only queues its tasks here, so the test sees which way each
 * message went.
 */
class InlineDeliveryTest {
    private static final Duration STEP = Duration.ofMillis(1);
    private static final int QUICK = 7;
    private static final int SLOW = 8;

    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private final List<String> got = new ArrayList<>();

    private InMemoryCluster cluster(NodeConfig.Builder config) {
        Executor queued = tasks::add;
        Executor direct = Runnable::run;
        return new InMemoryCluster(3, 11, config.clusterName("inline").timeout(Duration.ofSeconds(5)).build(),
                i -> i == 1 ? queued : direct);
    }

    private static MessageListener listener(boolean inline, Consumer<Message> body) {
        return new MessageListener() {
            @Override
            public void onMessage(Message m) {
                body.accept(m);
            }

            @Override
            public boolean inline(Message m) {
                return inline;
            }
        };
    }

    private static CompletableFuture<Void> send(InMemoryCluster c, int topic, int value, Delivery d) {
        return c.node(0).send(c.member(1), topic, ByteBuffer.allocate(4).putInt(0, value), d).toCompletableFuture();
    }

    private void record(Message m) {
        got.add(m.topic() + ":" + m.payload().getInt(0));
    }

    private void runTasks() {
        for (int n = 0; n < 1000 && !tasks.isEmpty(); n++) {
            tasks.poll().run();
        }
    }

    @Test
    void aMessageEveryListenerTakesInlineRunsWhereItWasReadOthersOnTheDeliveryExecutor() {
        try (InMemoryCluster c = cluster(NodeConfig.builder())) {
            c.node(1).addMessageListener(QUICK, listener(true, this::record));
            c.node(1).addMessageListener(SLOW, listener(true, this::record));
            c.node(1).addMessageListener(SLOW, listener(false, m -> { })); // one listener that does not: not inline
            CompletableFuture<Void> quick = send(c, QUICK, 1, Delivery.PROCESSED);
            assertTrue(c.runUntil(quick::isDone, STEP, 1000), "answered with the delivery executor never run");
            quick.join();
            assertEquals(List.of("7:1"), got);

            CompletableFuture<Void> slow = send(c, SLOW, 2, Delivery.PROCESSED);
            CompletableFuture<Void> received = send(c, QUICK, 3, Delivery.RECEIVED); // behind one that waits
            assertFalse(c.runUntil(() -> got.size() > 1, STEP, 200), "neither delivered: " + got);
            assertFalse(tasks.isEmpty());
            runTasks();
            assertTrue(c.runUntil(() -> slow.isDone() && received.isDone(), STEP, 1000));
            slow.join();
            assertEquals(List.of("7:1", "8:2", "7:3"), got);
        }
    }

    @Test
    void asyncAndReceivedMessagesEveryListenerTakesInlineRunWhereTheyWereRead() {
        try (InMemoryCluster c = cluster(NodeConfig.builder())) {
            c.node(1).addMessageListener(QUICK, listener(true, this::record));
            List<Delivery> asked = new ArrayList<>();
            c.node(1).addMessageListener(QUICK, new MessageListener() {
                @Override
                public void onMessage(Message m) { }

                @Override
                public boolean inline(Message m) {
                    asked.add(m.delivery());
                    return true;
                }
            });
            send(c, QUICK, 1, Delivery.ASYNC);
            CompletableFuture<Void> received = send(c, QUICK, 2, Delivery.RECEIVED);
            assertTrue(c.runUntil(() -> received.isDone() && got.size() == 2, STEP, 1000),
                    "delivered with the delivery executor never run: " + got);
            received.join();
            assertTrue(tasks.isEmpty(), "nothing went to the delivery executor");
            assertEquals(List.of("7:1", "7:2"), got);
            assertEquals(List.of(Delivery.ASYNC, Delivery.RECEIVED), asked, "asked with each message's delivery");
        }
    }

    @Test
    void aMessageBehindOneWaitingForTheDeliveryExecutorWaitsForItWhateverItsTopic() {
        try (InMemoryCluster c = cluster(NodeConfig.builder())) {
            c.node(1).addMessageListener(QUICK, listener(true, this::record));
            c.node(1).addMessageListener(SLOW, listener(false, this::record));
            send(c, SLOW, 1, Delivery.ASYNC);
            CompletableFuture<Void> quick = send(c, QUICK, 2, Delivery.PROCESSED);
            assertFalse(c.runUntil(() -> !got.isEmpty(), STEP, 200), "the inline message overtook: " + got);
            runTasks();
            assertTrue(c.runUntil(quick::isDone, STEP, 1000));
            quick.join();
            assertEquals(List.of("8:1", "7:2"), got, "in the order sent");
            // Idle again: the next one runs inline.
            CompletableFuture<Void> next = send(c, QUICK, 3, Delivery.PROCESSED);
            assertTrue(c.runUntil(next::isDone, STEP, 1000));
            assertTrue(tasks.isEmpty());
            assertEquals(List.of("8:1", "7:2", "7:3"), got);
        }
    }

    @Test
    void aSendFromAListenerRunningInlineFailsAtOnceWhenItsQueueIsFullInsteadOfWaiting() {
        try (InMemoryCluster c = cluster(NodeConfig.builder().maxQueuedMessages(2))) {
            c.network().partition(c.member(1), c.member(2)); // member 2 acknowledges nothing
            for (int i = 0; i < 2; i++) {
                c.node(1).send(c.member(2), SLOW, ByteBuffer.allocate(1), Delivery.ASYNC);
            }
            List<Throwable> failures = new ArrayList<>();
            c.node(1).addMessageListener(QUICK, listener(true, m -> c.node(1)
                    .send(c.member(2), SLOW, ByteBuffer.allocate(1), Delivery.ASYNC).toCompletableFuture()
                    .whenComplete((v, e) -> failures.add(e))));
            CompletableFuture<Void> quick = send(c, QUICK, 1, Delivery.PROCESSED);
            assertTrue(c.runUntil(quick::isDone, STEP, 1000));
            assertEquals(1, failures.size());
            Throwable e = failures.get(0) instanceof CompletionException x ? x.getCause() : failures.get(0);
            assertInstanceOf(SendQueueFullException.class, e);
            assertTrue(e.getMessage().contains("never waits"), e.getMessage());
        }
    }
}
