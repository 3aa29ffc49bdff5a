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

    private static LaneWait sent(Engine engine, MemoryLane lane, DeliveryFuture<Void> f, Delivery d, long timeout) {
        engine.future = f;
        LaneWait w = new LaneWait(engine, lane, PEER, data(1, d), f, System.nanoTime(), timeout);
        f.addLane(w);
        return w;
    }

    private static DeliveryFuture<Void> future() {
        return new DeliveryFuture<>(Runnable::run, DeliveryFuture.WaitSpin.NONE);
    }

    @Test
    @Timeout(20)
    void theWaitingThreadReadsTheAnswerAndCompletesItsOwnFuture() throws Exception {
        Engine engine = new Engine();
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        sent(engine, lane, f, Delivery.RECEIVED, TimeUnit.SECONDS.toNanos(10));
        lane.answers.add(Frame.control(FrameType.ACK, 1));
        f.get(5, TimeUnit.SECONDS);
        assertEquals(List.of(Thread.currentThread()), engine.completedOn, "completed by the thread that waited");
        assertEquals(List.of("taken", "frame ACK 1"), engine.events);
        assertEquals(List.of("release"), lane.events, "the lane goes back once its answer was read");
    }

    @Test
    @Timeout(20)
    void aProcessedMessageIsAnsweredByItsResultNotByAnAck() throws Exception {
        Engine engine = new Engine();
        engine.resultCompletes = true;
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        sent(engine, lane, f, Delivery.PROCESSED, TimeUnit.SECONDS.toNanos(10));
        lane.answers.add(Frame.control(FrameType.ACK, 1));
        lane.answers.add(new Frame(FrameType.RESULT, 0, 0, 0, 1, ByteBuffer.wrap(new byte[] {0})));
        f.join();
        assertEquals(List.of("taken", "frame ACK 1", "frame RESULT 1"), engine.events);
        assertEquals(List.of("release"), lane.events);
    }

    @Test
    @Timeout(20)
    void aCallerThatAttachesADependentLeavesTheLaneToALaneThread() throws Exception {
        Engine engine = new Engine();
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        sent(engine, lane, f, Delivery.RECEIVED, TimeUnit.SECONDS.toNanos(10));
        CompletableFuture<String> after = f.thenApply(v -> "done");
        assertEquals(List.of("taken", "lane thread"), engine.events, "handed over when the dependent was attached");
        lane.answers.add(Frame.control(FrameType.ACK, 1));
        assertEquals("done", after.get(5, TimeUnit.SECONDS));
        assertEquals("lane", engine.completedOn.get(0).getName());
    }

    @Test
    @Timeout(20)
    void theEnginesOwnHooksAndDerivedFuturesKeepTheLaneForTheWaiter() throws Exception {
        Engine engine = new Engine();
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        sent(engine, lane, f, Delivery.RECEIVED, TimeUnit.SECONDS.toNanos(10));
        CompletableFuture<Void> derived = DeliveryFuture.derive(f);
        f.whenCompleteInline((v, e) -> derived.complete(null));
        assertEquals(List.of(), engine.events, "nothing handed over");
        lane.answers.add(Frame.control(FrameType.ACK, 1));
        derived.get(5, TimeUnit.SECONDS);
        assertEquals(List.of(Thread.currentThread()), engine.completedOn,
                "the thread waiting on the derived future read the answer");
    }

    @Test
    @Timeout(20)
    void aLaneThatBreaksSendsItsMessageThePooledWay() {
        Engine engine = new Engine();
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        sent(engine, lane, f, Delivery.RECEIVED, TimeUnit.SECONDS.toNanos(10));
        lane.answers.add(new IOException("reset"));
        assertThrows(TimeoutException.class, () -> f.get(200, TimeUnit.MILLISECONDS));
        assertEquals(List.of("taken", "failed"), engine.events);
        assertEquals(List.of("close"), lane.events);
    }

    @Test
    @Timeout(20)
    void aWaiterWhoseTimeIsUpLeavesTheAnswerToALaneThread() {
        Engine engine = new Engine();
        engine.runLaneThreads = false;
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        sent(engine, lane, f, Delivery.RECEIVED, TimeUnit.SECONDS.toNanos(10));
        assertThrows(TimeoutException.class, () -> f.get(100, TimeUnit.MILLISECONDS));
        assertEquals(List.of("taken", "lane thread", "failed"), engine.events,
                "no lane thread free: given up, and the message goes the pooled way");
        assertEquals(List.of("close"), lane.events);
        assertFalse(f.isDone());
    }

    @Test
    @Timeout(20)
    void aFutureCompletedAnotherWayStillHasItsLanesAnswerDrained() throws Exception {
        Engine engine = new Engine();
        MemoryLane lane = new MemoryLane();
        DeliveryFuture<Void> f = future();
        LaneWait w = sent(engine, lane, f, Delivery.RECEIVED, TimeUnit.SECONDS.toNanos(10));
        f.complete(null); // a later message's cumulative ACK, read elsewhere
        f.get();
        assertEquals(List.of("taken", "lane thread"), engine.events, "the waiter did not wait for the answer");
        lane.answers.add(Frame.control(FrameType.ACK, 1));
        await("the lane thread read the answer still coming", Duration.ofSeconds(10),
                () -> lane.events.contains("release"));
        assertEquals(List.of("release"), lane.events);
        assertFalse(w.take(), "taken once");
        assertSame(f, engine.future);
        assertTrue(f.isDone());
    }
}
