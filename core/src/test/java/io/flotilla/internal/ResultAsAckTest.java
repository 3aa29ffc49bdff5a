package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.NodeConfig;
import io.flotilla.internal.StreamsOutsideViewTest.RecordingConnection;
import io.flotilla.testing.FixedMembership;
import io.flotilla.testing.InMemoryNetwork;
import io.flotilla.testing.ManualClock;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A {@code PROCESSED} message is answered by one frame, its {@code RESULT}, which also acknowledges receipt of
 * everything up to it: no separate {@code ACK} per message on a connection with sparse traffic. Messages nobody waits
 * for ({@link Frame#FLAG_LAZY_ACK}) are acknowledged together, not one read at a time. Two real engines on the
 * in-memory network, counted frame by frame, on a manual clock.
 */
class ResultAsAckTest {
    private static final NodeConfig CONFIG = NodeConfig.builder().clusterName("t").timeout(Duration.ofSeconds(30))
            .build();

    /** A sender and a receiver whose listeners run when the test says (as a delivery thread would, later). */
    private static final class Pair implements AutoCloseable {
        final ManualClock clock = new ManualClock();
        final InMemoryNetwork network;
        final DefaultNode sender;
        final DefaultNode receiver;
        final ArrayDeque<Runnable> deliveries = new ArrayDeque<>();

        /**
         * @param listenerAfterRead the receiver's listeners run after the read batch that brought the message (a
         *     delivery thread picks it up later, the usual case); false: inside it (a direct executor)
         */
        Pair(long seed, boolean listenerAfterRead) {
            network = new InMemoryNetwork(clock, seed);
            Random ids = new Random(seed);
            FixedMembership ms = new FixedMembership();
            FixedMembership mr = new FixedMembership();
            Executor receiving = listenerAfterRead ? deliveries::add : Runnable::run;
            sender = node("sender", ms, Runnable::run, ids);
            receiver = node("receiver", mr, receiving, ids);
            ms.join(receiver.localMember());
            mr.join(sender.localMember());
            settle();
        }

        private DefaultNode node(String name, FixedMembership m, Executor delivery, Random ids) {
            DefaultNode n = new DefaultNode(CONFIG.toBuilder().memberName(name).build(), clock, clock,
                    network.transports().create(), m, delivery, MemberId.random(ids));
            n.start();
            return n;
        }

        /** Delivers every frame in flight and runs every delivery task, without moving time. */
        void settle() {
            for (int i = 0; i < 10_000; i++) {
                clock.runDue();
                Runnable task = deliveries.poll();
                if (task == null) {
                    return;
                }
                task.run();
            }
            throw new AssertionError("did not settle: " + network);
        }

        /** Every frame the receiver wrote to the sender so far (handshakes aside). */
        long writtenByReceiver() {
            long n = 0;
            for (FrameType t : FrameType.values()) {
                n += network.framesWritten(receiver.localMember(), t);
            }
            return n;
        }

        double senderGauge(String name) {
            return sender.meterRegistry().find(name).gauge().value();
        }

        double senderCounter(String name) {
            return sender.meterRegistry().find(name).counter().count();
        }

        @Override
        public void close() {
            sender.close(Duration.ZERO);
            receiver.close(Duration.ZERO);
        }
    }

    private static ByteBuffer payload(int v) {
        return ByteBuffer.allocate(4).putInt(0, v);
    }

    @ParameterizedTest(name = "listener after the read batch: {0}")
    @ValueSource(booleans = {true, false})
    void aProcessedMessageOnAnIdleConnectionIsAnsweredByOneFrame(boolean listenerAfterRead) {
        try (Pair p = new Pair(16, listenerAfterRead)) {
            AtomicInteger processed = new AtomicInteger();
            p.receiver.addMessageListener(1, m -> processed.incrementAndGet());
            int messages = 20;
            for (int i = 0; i < messages; i++) {
                long before = p.writtenByReceiver();
                CompletableFuture<Void> f = p.sender.send(p.receiver.localMember(), 1, payload(i),
                        Delivery.PROCESSED).toCompletableFuture();
                p.settle();
                assertTrue(f.isDone() && !f.isCompletedExceptionally(), "message " + i + " completed: " + f);
                assertEquals(1, p.writtenByReceiver() - before, "frames the receiver wrote for message " + i
                        + " (RESULT " + p.network.framesWritten(p.receiver.localMember(), FrameType.RESULT) + ", ACK "
                        + p.network.framesWritten(p.receiver.localMember(), FrameType.ACK) + " so far)");
                assertEquals(0.0, p.senderGauge("flotilla.send.queue.depth"), "the RESULT released message " + i);
            }
            // Long idle: nothing is left for the sender to resend, so nothing more is answered.
            long before = p.writtenByReceiver();
            p.clock.advance(Duration.ofSeconds(5));
            p.settle();
            assertEquals(before, p.writtenByReceiver(), "frames written while idle");
            assertEquals(0.0, p.senderCounter("flotilla.messages.retransmitted"));
            assertEquals(messages, processed.get());
            assertEquals(messages, p.network.framesWritten(p.receiver.localMember(), FrameType.RESULT));
        }
    }

    /**
     * A stream of {@code ASYNC} messages (an asynchronous replication per request) is acknowledged 64 at a time, not
     * one read at a time; the node's tick acknowledges the rest, and a closing sender asks for it at once.
     */
    @Test
    void asynchronousMessagesAreAcknowledgedTogetherAndTheTickOrACloseTakesTheRest() {
        try (Pair p = new Pair(18, true)) {
            AtomicInteger delivered = new AtomicInteger();
            p.receiver.addMessageListener(1, m -> delivered.incrementAndGet());
            int messages = 200;
            for (int i = 0; i < messages; i++) {
                p.sender.send(p.receiver.localMember(), 1, payload(i), Delivery.ASYNC);
                p.settle(); // each in a read of its own, no time passing
            }
            assertEquals(messages, delivered.get());
            assertEquals(messages / InboundStream.LAZY_ACK_FRAMES,
                    p.network.framesWritten(p.receiver.localMember(), FrameType.ACK), "one ACK per 64 messages");
            assertEquals(messages % InboundStream.LAZY_ACK_FRAMES, p.senderGauge("flotilla.send.queue.depth"));
            p.clock.advance(Duration.ofSeconds(1)); // the receiver's tick
            p.settle();
            assertEquals(0.0, p.senderGauge("flotilla.send.queue.depth"), "the tick acknowledged the rest");
            assertEquals(0.0, p.senderCounter("flotilla.messages.retransmitted"));

            p.sender.send(p.receiver.localMember(), 1, payload(-1), Delivery.ASYNC);
            p.settle();
            assertEquals(1.0, p.senderGauge("flotilla.send.queue.depth"), "put off");
            p.sender.close(Duration.ZERO); // asks for the acknowledgement (a real close then waits for it)
            assertEquals(1, p.network.framesWritten(p.sender.localMember(), FrameType.SYNC));
        }
    }

    @Test
    void aReceivedMessageIsAcknowledgedOnArrivalWhileAProcessedOneBeforeItStillWaitsForItsListener() {
        try (Pair p = new Pair(17, true)) {
            List<Integer> seen = new CopyOnWriteArrayList<>();
            p.receiver.addMessageListener(1, m -> seen.add(m.payload().getInt(0)));
            CompletableFuture<Void> processed = p.sender.send(p.receiver.localMember(), 1, payload(1),
                    Delivery.PROCESSED).toCompletableFuture();
            CompletableFuture<Void> received = p.sender.send(p.receiver.localMember(), 1, payload(2),
                    Delivery.RECEIVED).toCompletableFuture();
            // Frames arrive; no delivery task runs yet (the listener is busy elsewhere).
            p.clock.runDue();
            assertTrue(received.isDone() && !received.isCompletedExceptionally(), "RECEIVED completes on arrival");
            assertTrue(!processed.isDone(), "PROCESSED waits for its listener");
            assertEquals(List.of(), seen);
            p.settle();
            assertTrue(processed.isDone() && !processed.isCompletedExceptionally());
            assertEquals(List.of(1, 2), seen);
            assertEquals(0.0, p.senderGauge("flotilla.send.queue.depth"));
        }
    }

    // ---------------------------------------------------------------- the two streams, frame by frame

    private static final Member SENDER = new Member(MemberId.random(new Random(1)), "sender", "127.0.0.1", 5001, "",
            new byte[0], 1);

    private static InboundStream inbound() {
        InboundStream in = new InboundStream(SENDER, 1 << 20, 1024, 100,
                new NodeMeters(new SimpleMeterRegistry(), () -> 0, () -> 0), () -> true);
        in.viewChanged(0);
        return in;
    }

    /** A {@code DATA} frame as a sender of this version writes it ({@code ASYNC}: nobody waits for it). */
    private static Frame data(long seq, Delivery d) {
        int flags = d.ordinal() | (d == Delivery.PROCESSED ? Frame.FLAG_RESULT_ACKS : 0)
                | (d == Delivery.ASYNC ? Frame.FLAG_LAZY_ACK : 0);
        return new Frame(FrameType.DATA, flags, 1, 0, seq, payload((int) seq));
    }

    /** Delivers what is ready, as the node's delivery task does, answering each {@code PROCESSED} message. */
    private static void deliver(InboundStream in) {
        for (Frame f : in.nextBatch(100)) {
            if ((f.flags() & Frame.DELIVERY_MASK) == Delivery.PROCESSED.ordinal()) {
                in.completeProcessed(f, null);
            }
        }
        assertEquals(List.of(), in.nextBatch(100));
    }

    private static List<String> written(RecordingConnection conn) {
        return conn.sent.stream().map(f -> f.type() + " " + f.messageId()).toList();
    }

    @Test
    void aReadBatchEndingWithAProcessedMessageIsAcknowledgedByItsResultAlone() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        in.onData(conn, data(1, Delivery.ASYNC));
        in.onData(conn, data(2, Delivery.PROCESSED));
        in.ackIfDue(conn, 0);
        assertEquals(List.of(), written(conn), "the RESULT of 2 will acknowledge 1 and 2");
        deliver(in);
        in.ackIfDue(conn, 0);
        assertEquals(List.of("RESULT 2"), written(conn));
        in.onData(conn, data(3, Delivery.ASYNC));
        in.ackIfDue(conn, 0);
        in.ackIfDue(conn, InboundStream.LAZY_ACK_NANOS);
        assertEquals(List.of("RESULT 2", "ACK 3"), written(conn), "no RESULT will come for an ASYNC message");
    }

    @Test
    void messagesNobodyWaitsForAreAcknowledgedAMillisecondLaterOrSixtyFourAtATime() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        long t = 1_000_000_000L;
        in.onData(conn, data(1, Delivery.ASYNC));
        in.ackIfDue(conn, t);
        in.onData(conn, data(2, Delivery.ASYNC));
        in.ackIfDue(conn, t + InboundStream.LAZY_ACK_NANOS - 1);
        assertEquals(List.of(), written(conn), "put off");
        in.onData(conn, data(3, Delivery.ASYNC));
        in.ackIfDue(conn, t + InboundStream.LAZY_ACK_NANOS);
        assertEquals(List.of("ACK 3"), written(conn), "a millisecond after the first was put off");
        long seq = 3;
        for (int i = 1; i < InboundStream.LAZY_ACK_FRAMES; i++) {
            in.onData(conn, data(++seq, Delivery.ASYNC));
            in.ackIfDue(conn, t + InboundStream.LAZY_ACK_NANOS);
        }
        assertEquals(List.of("ACK 3"), written(conn), (InboundStream.LAZY_ACK_FRAMES - 1) + " put off");
        in.onData(conn, data(++seq, Delivery.ASYNC));
        in.ackIfDue(conn, t + InboundStream.LAZY_ACK_NANOS);
        assertEquals(List.of("ACK 3", "ACK " + seq), written(conn), "the 64th is acknowledged with the others");
    }

    @Test
    void aMessageItsSenderWaitsForIsAcknowledgedAtOnceWithTheLazyOnesBeforeIt() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        in.onData(conn, data(1, Delivery.ASYNC));
        in.onData(conn, data(2, Delivery.ASYNC));
        in.ackIfDue(conn, 0);
        in.onData(conn, data(3, Delivery.RECEIVED));
        in.ackIfDue(conn, 0);
        assertEquals(List.of("ACK 3"), written(conn));
        // an earlier version's ASYNC frame (no FLAG_LAZY_ACK) is acknowledged at the end of its read, as before
        in.onData(conn, new Frame(FrameType.DATA, Delivery.ASYNC.ordinal(), 1, 0, 4, payload(4)));
        in.ackIfDue(conn, 0);
        assertEquals(List.of("ACK 3", "ACK 4"), written(conn));
    }

    @Test
    void theTimerAndASyncFromAClosingSenderAcknowledgeWhatWasPutOff() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        in.onData(conn, data(1, Delivery.ASYNC));
        in.ackIfDue(conn, 0);
        in.flushLazy(0);
        assertEquals(List.of("ACK 1"), written(conn), "the node's tick");
        in.flushLazy(0);
        assertEquals(List.of("ACK 1"), written(conn), "nothing put off since");
        in.onData(conn, data(2, Delivery.ASYNC));
        in.ackIfDue(conn, 0);
        in.onSync(1); // a closing sender waits for its queue to drain
        in.ackIfDue(conn, 0);
        assertEquals(List.of("ACK 1", "ACK 2"), written(conn), "at the end of the read that brought the SYNC");
    }

    @Test
    void aReceivedMessageInTheBatchIsAcknowledgedAtOnceEvenWhenAProcessedOneFollows() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        in.onData(conn, data(1, Delivery.RECEIVED));
        in.onData(conn, data(2, Delivery.PROCESSED));
        in.ackIfDue(conn, 0);
        assertEquals(List.of("ACK 2"), written(conn));
        deliver(in);
        assertEquals(List.of("ACK 2", "RESULT 2"), written(conn));
    }

    @Test
    void aSenderThatDoesNotTakeResultsAsAcknowledgementsGetsBothAsBefore() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        // An earlier version's PROCESSED frame: no FLAG_RESULT_ACKS. Its listener may even finish first.
        Frame old = new Frame(FrameType.DATA, Delivery.PROCESSED.ordinal(), 1, 0, 1, payload(1));
        in.onData(conn, old);
        deliver(in);
        in.ackIfDue(conn, 0);
        assertEquals(List.of("RESULT 1", "ACK 1"), written(conn));
    }

    @Test
    void aDuplicateIsStillAnsweredWithAnAck() {
        InboundStream in = inbound();
        RecordingConnection conn = new RecordingConnection(SENDER);
        in.onData(conn, data(1, Delivery.PROCESSED));
        in.ackIfDue(conn, 0);
        deliver(in);
        // The sender did not hear back and sends it again: the known result and an ACK answer it.
        in.onData(conn, data(1, Delivery.PROCESSED));
        in.ackIfDue(conn, 0);
        assertEquals(List.of("RESULT 1", "RESULT 1", "ACK 1"), written(conn));
    }

    @Test
    void aSenderOutsideTheViewIsAcknowledgedByResultsOnceItJoins() {
        boolean[] inView = {false};
        InboundStream in = new InboundStream(SENDER, 1 << 20, 1024, 100,
                new NodeMeters(new SimpleMeterRegistry(), () -> 0, () -> 0), () -> inView[0]);
        in.viewChanged(0);
        RecordingConnection conn = new RecordingConnection(SENDER);
        in.onData(conn, data(1, Delivery.PROCESSED));
        in.ackIfDue(conn, 0);
        assertEquals(List.of(), in.nextBatch(100), "held, not delivered");
        inView[0] = true;
        assertTrue(in.viewChanged(0), "delivery to schedule");
        deliver(in);
        assertEquals(List.of("RESULT 1"), written(conn));
    }

    private static OutboundStream outbound(long now) {
        return new OutboundStream(SENDER, 100, 1 << 20, now, Runnable::run, DeliveryFuture.WaitSpin.NONE);
    }

    @Test
    void aResultAcknowledgesEverythingUpToItsMessage() throws InterruptedException {
        ManualClock clock = new ManualClock();
        OutboundStream out = outbound(0);
        OutboundStream.Pending received = out.enqueue(1, payload(1), Delivery.RECEIVED, true, clock, 1_000_000_000L);
        OutboundStream.Pending processed = out.enqueue(1, payload(2), Delivery.PROCESSED, true, clock, 1_000_000_000L);
        assertEquals(Frame.FLAG_RESULT_ACKS, processed.frame.flags() & Frame.FLAG_RESULT_ACKS,
                "a PROCESSED frame says its RESULT acknowledges");
        assertEquals(0, received.frame.flags() & Frame.FLAG_RESULT_ACKS);
        List<OutboundStream.Settlement> done = out.onResult(2, null, 10);
        assertEquals(List.of(received, processed), done.stream().map(OutboundStream.Settlement::pending).toList());
        assertEquals(0, out.queuedMessages(), "both released");
        assertTrue(out.awaitDrained(0), "nothing left to wait for");
        assertEquals(List.of(), out.onAck(2, 20), "a late ACK changes nothing");
    }

    @Test
    void aResultForANumberNeverSentIsIgnored() throws InterruptedException {
        OutboundStream out = outbound(0);
        out.enqueue(1, payload(1), Delivery.RECEIVED, true, new ManualClock(), 1_000_000_000L);
        assertEquals(List.of(), out.onResult(7, null, 10));
        assertEquals(1, out.queuedMessages());
    }

    @Test
    void aStreamIdleForLongStartsWaitingForAnAnswerAtItsNextSend() throws InterruptedException {
        ManualClock clock = new ManualClock();
        OutboundStream out = outbound(0);
        long stall = 500_000_000L;
        clock.advance(Duration.ofSeconds(10));
        out.enqueue(1, payload(1), Delivery.PROCESSED, true, clock, 30_000_000_000L);
        // Its listener runs for 100 ms: no answer yet, and none is overdue.
        assertEquals(List.of(), out.stalled(clock.nanoTime() + 100_000_000L, stall, 256));
        assertEquals(1, out.stalled(clock.nanoTime() + stall, stall, 256).size(), "overdue after the stall time");
    }
}
