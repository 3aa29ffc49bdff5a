package io.flotilla.internal;

import static io.flotilla.testing.Await.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.spi.PeerLane;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who reads a lane's answer ({@link LaneWait}, {@link DeliveryFuture}): the thread that waits on the send's future,
 * or on one the engine derived from it, completing the future itself; a lane thread when the caller attaches a
 * dependent or the waiter gives up; and a lane that breaks sends its message the pooled way. A lane in memory, and an
 * engine that records what it is told.
 */
class LaneWaitTest {
    private static final Member PEER = new Member(MemberId.random(new Random(5)), "peer", "127.0.0.1", 5002, "",
            new byte[0], 1);

    /** A lane whose answers the test puts in; {@code null} in the queue breaks it. */
    private static final class MemoryLane implements PeerLane {
        final LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public Member remote() {
            return PEER;
        }

        @Override
        public void write(Frame frame) {
            events.add("write " + frame.messageId());
        }

        @Override
        public Frame read(long timeoutNanos) throws IOException {
            Object o;
            try {
                o = timeoutNanos <= 0 ? answers.poll() : answers.poll(timeoutNanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted");
            }
            if (o instanceof IOException e) {
                close(); // as the SPI says: a lane that breaks is closed
                throw e;
            }
            return (Frame) o;
        }

        @Override
        public void release() {
            events.add("release");
        }

        @Override
        public void close() {
            events.add("close");
        }
    }

    /** Completes the future of message 1 on an answer, as the node's streams would; records the rest. */
    private static final class Engine implements LaneWait.Engine {
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<Thread> completedOn = new CopyOnWriteArrayList<>();
        DeliveryFuture<Void> future;
        boolean runLaneThreads = true;
        /** Only a RESULT completes the future (a PROCESSED message's). */
        boolean resultCompletes;

        @Override
        public void onLaneFrame(Member from, Frame frame) {
            events.add("frame " + frame.type() + " " + frame.messageId());
            if (!resultCompletes || frame.type() == FrameType.RESULT) {
                completedOn.add(Thread.currentThread());
                future.complete(null);
            }
        }

        @Override
        public boolean laneThread(Runnable reader) {
            events.add("lane thread");
            if (runLaneThreads) {
                Thread t = new Thread(reader, "lane");
                t.start();
            }
            return runLaneThreads;
        }

        @Override
        public void laneFailed(LaneWait w, String why) {
            events.add("failed");
        }

        @Override
        public void taken(LaneWait w) {
            events.add("taken");
        }
    }

    private static Frame data(long seq, Delivery d) {
        return new Frame(FrameType.DATA, d.ordinal(), 1, 0, seq, ByteBuffer.allocate(1));
    }

    /** Message 1 written on a lane in memory, its future, and the engine it reports to. */
    private static final class Sent {
        final Engine engine = new Engine();
        final MemoryLane lane = new MemoryLane();
        final DeliveryFuture<Void> f = new DeliveryFuture<>(Runnable::run, DeliveryFuture.WaitSpin.NONE);
        final LaneWait w;

        Sent(Delivery d) {
            engine.future = f;
            w = new LaneWait(engine, lane, PEER, data(1, d), f, System.nanoTime(), TimeUnit.SECONDS.toNanos(10));
            f.addLane(w);
        }
    }

    @Test
    @Timeout(20)
    void theWaitingThreadReadsTheAnswerAndCompletesItsOwnFuture() throws Exception {
        Sent sent = new Sent(Delivery.RECEIVED);
        sent.lane.answers.add(Frame.control(FrameType.ACK, 1));
        sent.f.get(5, TimeUnit.SECONDS);
        assertEquals(List.of(Thread.currentThread()), sent.engine.completedOn, "completed by the thread that waited");
        assertEquals(List.of("taken", "frame ACK 1"), sent.engine.events);
        assertEquals(List.of("release"), sent.lane.events, "the lane goes back once its answer was read");
    }

    @Test
    @Timeout(20)
    void aProcessedMessageIsAnsweredByItsResultNotByAnAck() throws Exception {
        Sent sent = new Sent(Delivery.PROCESSED);
        sent.engine.resultCompletes = true;
        sent.lane.answers.add(Frame.control(FrameType.ACK, 1));
        sent.lane.answers.add(new Frame(FrameType.RESULT, 0, 0, 0, 1, ByteBuffer.wrap(new byte[] {0})));
        sent.f.join();
        assertEquals(List.of("taken", "frame ACK 1", "frame RESULT 1"), sent.engine.events);
        assertEquals(List.of("release"), sent.lane.events);
    }

    @Test
    @Timeout(20)
    void aCallerThatAttachesADependentLeavesTheLaneToALaneThread() throws Exception {
        Sent sent = new Sent(Delivery.RECEIVED);
        CompletableFuture<String> after = sent.f.thenApply(v -> "done");
        assertEquals(List.of("taken", "lane thread"), sent.engine.events,
                "handed over when the dependent was attached");
        sent.lane.answers.add(Frame.control(FrameType.ACK, 1));
        assertEquals("done", after.get(5, TimeUnit.SECONDS));
        assertEquals("lane", sent.engine.completedOn.get(0).getName());
    }

    @Test
    @Timeout(20)
    void theEnginesOwnHooksAndDerivedFuturesKeepTheLaneForTheWaiter() throws Exception {
        Sent sent = new Sent(Delivery.RECEIVED);
        CompletableFuture<Void> derived = DeliveryFuture.derive(sent.f);
        sent.f.whenCompleteInline((v, e) -> derived.complete(null));
        assertEquals(List.of(), sent.engine.events, "nothing handed over");
        sent.lane.answers.add(Frame.control(FrameType.ACK, 1));
        derived.get(5, TimeUnit.SECONDS);
        assertEquals(List.of(Thread.currentThread()), sent.engine.completedOn,
                "the thread waiting on the derived future read the answer");
    }

    @Test
    @Timeout(20)
    void aLaneThatBreaksSendsItsMessageThePooledWay() {
        Sent sent = new Sent(Delivery.RECEIVED);
        sent.lane.answers.add(new IOException("reset"));
        assertThrows(TimeoutException.class, () -> sent.f.get(200, TimeUnit.MILLISECONDS));
        assertEquals(List.of("taken", "failed"), sent.engine.events);
        assertEquals(List.of("close"), sent.lane.events);
    }

    @Test
    @Timeout(20)
    void aWaiterWhoseTimeIsUpLeavesTheAnswerToALaneThread() {
        Sent sent = new Sent(Delivery.RECEIVED);
        sent.engine.runLaneThreads = false;
        assertThrows(TimeoutException.class, () -> sent.f.get(100, TimeUnit.MILLISECONDS));
        assertEquals(List.of("taken", "lane thread", "failed"), sent.engine.events,
                "no lane thread free: given up, and the message goes the pooled way");
        assertEquals(List.of("close"), sent.lane.events);
        assertFalse(sent.f.isDone());
    }

    @Test
    @Timeout(20)
    void aFutureCompletedAnotherWayStillHasItsLanesAnswerDrained() throws Exception {
        Sent sent = new Sent(Delivery.RECEIVED);
        sent.f.complete(null); // a later message's cumulative ACK, read elsewhere
        sent.f.get();
        assertEquals(List.of("taken", "lane thread"), sent.engine.events, "the waiter did not wait for the answer");
        sent.lane.answers.add(Frame.control(FrameType.ACK, 1));
        await("the lane thread read the answer still coming", Duration.ofSeconds(10),
                () -> sent.lane.events.contains("release"));
        assertEquals(List.of("release"), sent.lane.events);
        assertFalse(sent.w.take(), "taken once");
        assertSame(sent.f, sent.engine.future);
        assertTrue(sent.f.isDone());
    }
}
