package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.NodeConfig;
import io.flotilla.internal.StreamsOutsideViewTest.RecordingConnection;
import io.flotilla.testing.CapturingTransport;
import io.flotilla.testing.FixedMembership;
import io.flotilla.testing.InMemoryNetwork;
import io.flotilla.testing.ManualClock;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A message from a connection whose peer is not (yet) a member of the receiver's view reaches no listener and is not
 * acknowledged; once the peer joins, it is delivered exactly once, in order, and the sender's guarantee is met.
 */
class SenderOutsideViewTest {
    private static final Duration STEP = Duration.ofMillis(5);

    /** Two real engines on the fault-injecting network; {@code b}'s membership learns of {@code a} when told. */
    private static final class Pair implements AutoCloseable {
        final ManualClock clock = new ManualClock();
        final InMemoryNetwork network;
        final FixedMembership membershipA = new FixedMembership();
        final FixedMembership membershipB = new FixedMembership();
        final DefaultNode a;
        final DefaultNode b;
        final List<Integer> gotByB = new CopyOnWriteArrayList<>();

        Pair(long seed) {
            network = new InMemoryNetwork(clock, seed).drop(0.05).duplicate(0.05)
                    .delay(Duration.ofMillis(1), Duration.ofMillis(20));
            NodeConfig config = NodeConfig.builder().clusterName("t").timeout(Duration.ofSeconds(30))
                    .maxRetryAttempts(100).build();
            a = new DefaultNode(config.toBuilder().memberName("a").build(), clock, clock, network.transports().create(),
                    membershipA, Runnable::run);
            b = new DefaultNode(config.toBuilder().memberName("b").build(), clock, clock, network.transports().create(),
                    membershipB, Runnable::run);
            a.start();
            b.start();
            b.addMessageListener(1, m -> gotByB.add(m.payload().getInt(0)));
            membershipA.join(b.localMember()); // a sees b; b does not see a yet
        }

        List<CompletableFuture<Void>> send(Delivery delivery, int from, int to) {
            List<CompletableFuture<Void>> out = new ArrayList<>();
            for (int i = from; i <= to; i++) {
                out.add(a.send(b.localMember(), 1, ByteBuffer.allocate(4).putInt(0, i), delivery)
                        .toCompletableFuture());
            }
            return out;
        }

        void run(Duration d) {
            for (long t = 0; t < d.toNanos(); t += STEP.toNanos()) {
                clock.advance(STEP);
            }
        }

        @Override
        public void close() {
            a.close(Duration.ZERO);
            b.close(Duration.ZERO);
        }
    }

    private static List<Integer> range(int from, int to) {
        List<Integer> out = new ArrayList<>();
        for (int i = from; i <= to; i++) {
            out.add(i);
        }
        return out;
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {0x0B5E_0001L, 0x0B5E_0002L, 0x0B5E_0003L, 0x0B5E_0004L, 0x0B5E_0005L})
    void messagesOfASenderOutsideTheViewWaitUnacknowledgedUntilItJoins(long seed) {
        System.out.println("messagesOfASenderOutsideTheViewWaitUnacknowledgedUntilItJoins seed=" + seed);
        for (Delivery delivery : List.of(Delivery.RECEIVED, Delivery.PROCESSED)) {
            try (Pair p = new Pair(seed)) {
                List<CompletableFuture<Void>> first = p.send(delivery, 1, 20);
                p.run(Duration.ofSeconds(3));
                assertEquals(List.of(), p.gotByB, "delivered before the sender joined; seed " + seed);
                assertTrue(first.stream().noneMatch(CompletableFuture::isDone), "acknowledged before the sender "
                        + "joined; seed " + seed);
                assertTrue(p.b.meterRegistry().find("flotilla.messages.held").counter().count() > 0);

                p.membershipB.join(p.a.localMember());
                p.run(Duration.ofSeconds(3));
                assertEquals(range(1, 20), p.gotByB, "seed " + seed);
                assertTrue(first.stream().allMatch(f -> f.isDone() && !f.isCompletedExceptionally()),
                        "seed " + seed);

                // Removed (by mistake) while a still sends: held again, then delivered once it is back.
                p.membershipB.remove(p.a.localMember(), false);
                List<CompletableFuture<Void>> second = p.send(delivery, 21, 30);
                p.run(Duration.ofSeconds(3));
                assertEquals(range(1, 20), p.gotByB, "delivered while the sender was removed; seed " + seed);
                assertTrue(second.stream().noneMatch(CompletableFuture::isDone), "seed " + seed);
                p.membershipB.join(p.a.localMember());
                p.run(Duration.ofSeconds(3));
                assertEquals(range(1, 30), p.gotByB, "seed " + seed);
                assertTrue(second.stream().allMatch(f -> f.isDone() && !f.isCompletedExceptionally()),
                        "seed " + seed);
            }
        }
    }

    /** Message {@code seq} on topic 0, from a sender that gave up on nothing (its low-water mark is 0). */
    private static Frame data(long seq, int bytes) {
        return new Frame(FrameType.DATA, 0, 0, (int) seq, seq, ByteBuffer.allocate(bytes));
    }

    @Test
    void messagesAcknowledgedBeforeTheSenderLeftAreStillDeliveredAndHeldOnesAreBounded() {
        ManualClock clock = new ManualClock();
        CapturingTransport transport = new CapturingTransport();
        FixedMembership membership = new FixedMembership();
        ArrayDeque<Runnable> deliveries = new ArrayDeque<>();
        List<Long> delivered = new ArrayList<>();
        DefaultNode node = new DefaultNode(NodeConfig.builder().clusterName("t").build(), clock, clock, transport,
                membership, deliveries::add);
        node.start();
        try {
            Member sender = new Member(MemberId.random(), "s", "127.0.0.1", 5001, "", new byte[0], 1);
            RecordingConnection conn = new RecordingConnection(sender);
            node.addMessageListener(0, m -> delivered.add((long) m.payload().remaining()));
            membership.join(sender);
            transport.context.inbound().onFrame(conn, data(1, 1));
            transport.context.inbound().onFrame(conn, data(2, 2));
            transport.context.inbound().onReadComplete(conn);
            assertEquals(2, conn.lastAck(), "a member's messages are acknowledged");
            membership.remove(sender, false); // before the delivery task ran
            transport.context.inbound().onFrame(conn, data(3, 3));
            transport.context.inbound().onReadComplete(conn);
            while (!deliveries.isEmpty()) {
                deliveries.poll().run();
            }
            assertEquals(List.of(1L, 2L), delivered, "what was acknowledged is delivered; 3 is held");
            assertEquals(2, conn.lastAck(), "3 is not acknowledged");

            // Held messages are bounded: beyond MAX_HELD_BYTES they are dropped unacknowledged and counted.
            int big = 64 * 1024;
            long fits = (InboundStream.MAX_HELD_BYTES - 3) / big;
            for (long seq = 4; seq < 4 + fits + 5; seq++) {
                transport.context.inbound().onFrame(conn, data(seq, big));
            }
            assertEquals(5.0, node.meterRegistry().find("flotilla.messages.outside.view").counter().count());
            membership.join(sender);
            while (!deliveries.isEmpty()) {
                deliveries.poll().run();
            }
            assertEquals(3 + fits, delivered.size(), "the held ones are delivered once the sender is back");
            assertEquals(3 + fits, conn.lastAck(), "and acknowledged; the dropped ones come again");
            assertFalse(delivered.contains((long) big + 1));
        } finally {
            node.close(Duration.ZERO);
        }
    }
}
