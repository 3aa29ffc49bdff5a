package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.MessageNotHandledException;
import io.flotilla.MessageRefusedException;
import io.flotilla.NodeConfig;
import io.flotilla.RemoteProcessingException;
import io.flotilla.testing.InMemoryCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A listener that serves only part of a topic declines the rest with {@link MessageNotHandledException}: a message
 * every listener declines is unhandled, as on a topic with no listener; one that any listener takes is delivered. A
 * listener refuses a message with {@link MessageRefusedException}: its sender is told why, and it is no failure.
 */
class DeclinedMessageTest {
    private static final Duration STEP = Duration.ofMillis(1);
    private static final int TOPIC = 7;

    private static InMemoryCluster cluster() {
        return new InMemoryCluster(2, 5, NodeConfig.builder().clusterName("d").timeout(Duration.ofSeconds(5)).build());
    }

    private static CompletableFuture<Void> send(InMemoryCluster c, int value) {
        return c.node(0).send(c.member(1), TOPIC, ByteBuffer.allocate(4).putInt(0, value), Delivery.PROCESSED)
                .toCompletableFuture();
    }

    @Test
    void aMessageEveryListenerDeclinesFailsItsProcessedSenderAsUnhandled() {
        try (InMemoryCluster c = cluster()) {
            c.node(1).addMessageListener(TOPIC, m -> {
                throw new MessageNotHandledException("namespace /a");
            });
            c.node(1).addMessageListener(TOPIC, m -> {
                throw new MessageNotHandledException("namespace /b");
            });
            CompletableFuture<Void> f = send(c, 1);
            assertTrue(c.runUntil(f::isDone, STEP, 1000));
            CompletionException e = assertThrows(CompletionException.class, f::join);
            RemoteProcessingException r = assertInstanceOf(RemoteProcessingException.class, e.getCause());
            assertTrue(r.noListener(), r.remoteError());
            assertTrue(r.remoteError().startsWith("no listener for topic 7"), r.remoteError());
            assertEquals(1.0, c.node(1).meterRegistry().get("flotilla.messages.unhandled").counter().count());
            assertEquals(0.0, c.node(1).meterRegistry().get("flotilla.listener.errors").counter().count(),
                    "a decline is not a listener failure");
        }
    }

    /**
     * A refusal ({@link MessageRefusedException}: a reason the sender handles, as a replica's refusal of a write from a
     * member that does not own the session) reaches the sender with its reason but is no listener failure: it was
     * logged as a {@code WARNING} with its stack trace, and one such warning hid the next real failure's for 10 s.
     */
    @Test
    void aRefusedMessageFailsItsProcessedSenderWithTheReasonAndIsNoListenerFailure() {
        try (InMemoryCluster c = cluster()) {
            c.node(1).addMessageListener(TOPIC, m -> {
                throw new MessageRefusedException("member 2 owns it");
            });
            CompletableFuture<Void> f = send(c, 1);
            assertTrue(c.runUntil(f::isDone, STEP, 1000));
            CompletionException e = assertThrows(CompletionException.class, f::join);
            RemoteProcessingException r = assertInstanceOf(RemoteProcessingException.class, e.getCause());
            assertEquals(MessageRefusedException.class.getName() + ": member 2 owns it", r.remoteError());
            assertEquals(1.0, c.node(1).meterRegistry().get("flotilla.messages.refused").counter().count());
            assertEquals(0.0, c.node(1).meterRegistry().get("flotilla.listener.errors").counter().count());
        }
    }

    @Test
    void aMessageOneListenerTakesIsDeliveredAndAcknowledged() {
        try (InMemoryCluster c = cluster()) {
            List<Integer> got = new CopyOnWriteArrayList<>();
            c.node(1).addMessageListener(TOPIC, m -> {
                throw new MessageNotHandledException("namespace /a");
            });
            c.node(1).addMessageListener(TOPIC, m -> got.add(m.payload().getInt(0)));
            CompletableFuture<Void> f = send(c, 42);
            assertTrue(c.runUntil(f::isDone, STEP, 1000));
            f.join();
            assertEquals(List.of(42), got);
            assertEquals(0.0, c.node(1).meterRegistry().get("flotilla.messages.unhandled").counter().count());
        }
    }
}
