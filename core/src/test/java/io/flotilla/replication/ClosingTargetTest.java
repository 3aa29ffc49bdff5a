package io.flotilla.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.MessageListener;
import io.flotilla.Registration;
import io.flotilla.RemoteProcessingException;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A replication target whose engine stops listening while a {@code PROCESSED} delta is on its way to it (a graceful
 * node stop: its web application stops first, its {@code UNREADY} crosses the delta): its node answers "no listener
 * for topic", and that must not fail the write on the healthy owner (found by {@code NodeRestartUnderLoadIT}: HTTP
 * 500 on node1 at each graceful stop of node3). A listener that throws still fails the write.
 */
class ClosingTargetTest {
    private static final String ID = "0123456789ABCDEF0123456789ABCDEF";
    private static final int STEPS = 20_000;

    private static ReplicationConfig processed() {
        return ReplicationConfig.builder().delivery(Delivery.PROCESSED).build();
    }

    private static EngineHarness cluster(long seed) {
        System.out.println("ClosingTargetTest seed " + seed);
        EngineHarness h = new EngineHarness(3, seed, EngineHarness.nodeConfig(100));
        for (int i = 0; i < 3; i++) {
            h.start(i, processed());
        }
        return h;
    }

    /** Member 0 creates the session and writes n = 1, acknowledged by members 1 and 2. */
    private static void createdWithAckedWrite(EngineHarness h) {
        h.engine(0).create(ID, 1800);
        CompletableFuture<Void> first = write(h, 1);
        assertTrue(h.runUntil(first::isDone, STEPS));
        assertFalse(first.isCompletedExceptionally(), "first write acknowledged: " + first);
    }

    /** Sets n = value on member 0's primary and starts its replication; the messages are not delivered yet. */
    private static CompletableFuture<Void> write(EngineHarness h, int value) {
        h.engine(0).find(ID).orElseThrow().setAttribute("n", value);
        return h.engine(0).replicate(ID).toCompletableFuture();
    }

    private static Object n(EngineHarness h, int i) {
        return h.engine(i).replica(ID).orElseThrow()
                .attribute("n", h.engine(i).codec(), ClosingTargetTest.class.getClassLoader());
    }

    @Test
    void aTargetWhoseEngineClosesUnderAWriteFailsNoWriteAndGetsTheSessionWhenItListensAgain() {
        try (EngineHarness h = cluster(12_010)) {
            createdWithAckedWrite(h);

            CompletableFuture<Void> f = write(h, 2);
            h.engine(2).close(); // its UNREADY is sent after the delta reached the wire: the delta finds no listener
            assertTrue(h.runUntil(f::isDone, STEPS), "the write ended");
            assertFalse(f.isCompletedExceptionally(), "a target that stopped listening fails no write: " + f);
            assertEquals(2, n(h, 1), "the listening holder has the acknowledged write");
            assertFalse(h.engine(0).listens(h.cluster.member(2).id()), "its UNREADY arrived");

            CompletableFuture<Void> later = write(h, 3);
            assertTrue(h.runUntil(later::isDone, STEPS));
            assertFalse(later.isCompletedExceptionally(), "nor does any later write: " + later);

            h.start(2, processed()); // the web application starts again on the same node
            assertTrue(h.runUntil(() -> h.engine(2).replica(ID).map(r -> 3 == (Integer) n(h, 2)).orElse(false),
                    STEPS), "it holds the session once it listens again");
            CompletableFuture<Void> after = write(h, 4);
            assertTrue(h.runUntil(after::isDone, STEPS));
            assertFalse(after.isCompletedExceptionally());
            assertEquals(4, n(h, 2), "and is a replication target again");
        }
    }

    @Test
    void aListenerThatThrowsStillFailsTheWrite() {
        try (EngineHarness h = cluster(12_011)) {
            createdWithAckedWrite(h);

            // Beside member 2's engine, a listener that throws: the delta reached a listener and failed there.
            MessageListener broken = m -> {
                throw new IllegalStateException("cannot apply");
            };
            Registration r = h.cluster.node(2).addMessageListener(processed().replicationTopic(), broken);
            CompletableFuture<Void> f = write(h, 2);
            assertTrue(h.runUntil(f::isDone, STEPS));
            r.close();
            assertTrue(f.isCompletedExceptionally(), "the write fails: " + f);
            Throwable cause = Outbox.cause(f.handle((v, e) -> e).join());
            assertTrue(cause instanceof RemoteProcessingException p && !p.noListener(), "with the listener's error: "
                    + cause);
        }
    }
}
