package io.flotilla.internal;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.spi.PeerLane;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One synchronous message written on a {@link PeerLane}, until its answer was read from the lane: by the thread that
 * waits for the send ({@link #await}, from {@link DeliveryFuture}), or by a lane thread when nobody waits
 * ({@link #handOff}). Every frame read from the lane goes to the engine as if an I/O thread had read it, so the
 * reader completes the send's future itself. The lane goes back to its transport once the answer was read; a lane
 * that broke is closed and the message goes out again through the transport's pooled connections (the receiver drops
 * the copy it already has and answers again there).
 *
 * <p>Threading: {@link #take} decides, once, which thread reads; that thread alone runs {@link #await} or the lane
 * thread's read.
 */
final class LaneWait {
    /** How long a read blocks before the reader looks whether the send completed by another way. */
    static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** What a lane reader calls back into. */
    interface Engine {
        /** An {@code ACK} or {@code RESULT} that {@code from} sent on a lane. */
        void onLaneFrame(Member from, Frame frame);

        /** Runs {@code reader} on a lane thread; false when none can take it. */
        boolean laneThread(Runnable reader);

        /** The lane of {@code w} broke or was given up before the answer: its message goes the pooled way. */
        void laneFailed(LaneWait w, String why);

        /** {@code w} was taken: the timer no longer looks at it. */
        void taken(LaneWait w);
    }

    final PeerLane lane;
    final Member to;
    final Frame frame;
    final DeliveryFuture<Void> future;
    final long sentAt;
    private final long timeoutNanos;
    private final Engine engine;
    private final AtomicBoolean taken = new AtomicBoolean();

    LaneWait(Engine engine, PeerLane lane, Member to, Frame frame, DeliveryFuture<Void> future, long sentAt,
            long timeoutNanos) {
        this.engine = engine;
        this.lane = lane;
        this.to = to;
        this.frame = frame;
        this.future = future;
        this.sentAt = sentAt;
        this.timeoutNanos = timeoutNanos;
    }

    /** {@link System#nanoTime()} in {@code nanos}, saturated. */
    static long deadline(long nanos) {
        long now = System.nanoTime();
        return nanos >= Long.MAX_VALUE - now ? Long.MAX_VALUE : now + Math.max(0, nanos);
    }

    /** True for the one caller that reads the lane from now on. */
    boolean take() {
        if (!taken.compareAndSet(false, true)) {
            return false;
        }
        engine.taken(this);
        return true;
    }

    /** How a read of the lane ended. */
    private enum Stop { ANSWERED, DONE_ELSEWHERE, TIME_UP, BROKE }

    /**
     * The waiting thread reads until the answer came, and gives the lane back. When the send completed another way
     * first (a later message's cumulative acknowledgement), or {@code deadline} passed, it hands the rest to a lane
     * thread and returns: the caller waits on the future as without a lane.
     */
    void await(long deadline) {
        Stop s = read(deadline, false);
        if (s == Stop.DONE_ELSEWHERE || s == Stop.TIME_UP) {
            handOff();
        }
    }

    /** A lane thread reads the answer (see {@link #drain}); when none can, the lane is given up. */
    void handOff() {
        if (!engine.laneThread(this::drain)) {
            lane.close();
            engine.laneFailed(this, "no lane thread free");
        }
    }

    /**
     * On a lane thread: reads until the answer came, for at most the send's timeout; gives up sooner once the send
     * completed and the lane stayed silent for a whole {@link #SLICE_NANOS}.
     */
    private void drain() {
        Stop s = read(sentAt + timeoutNanos, true);
        if (s == Stop.DONE_ELSEWHERE) {
            lane.close();
        } else if (s == Stop.TIME_UP) {
            lane.close();
            engine.laneFailed(this, "no answer within the send's timeout");
        }
    }

    /**
     * Reads until this message's answer, {@code deadline}, or a broken lane; once the future completed another way,
     * stops at the first read that finds nothing: at once ({@code patient} false), or after a whole slice.
     */
    private Stop read(long deadline, boolean patient) {
        try {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Stop.TIME_UP;
                }
                boolean done = future.isDone();
                Frame f = lane.read(done && !patient ? 0 : Math.min(left, SLICE_NANOS));
                if (f == null) {
                    if (done) {
                        return Stop.DONE_ELSEWHERE;
                    }
                    continue;
                }
                if (answered(f)) {
                    return Stop.ANSWERED;
                }
            }
        } catch (IOException e) {
            engine.laneFailed(this, e.getMessage()); // the lane closed itself
            return Stop.BROKE;
        }
    }

    /** Hands {@code f} to the engine; true (and the lane given back) when it is this message's answer. */
    private boolean answered(Frame f) {
        engine.onLaneFrame(to, f);
        boolean processed = (frame.flags() & Frame.DELIVERY_MASK) == Delivery.PROCESSED.ordinal();
        boolean answer = processed ? f.type() == FrameType.RESULT && f.messageId() == frame.messageId()
                : f.type() == FrameType.ACK && f.messageId() >= frame.messageId();
        if (answer) {
            lane.release();
        }
        return answer;
    }
}
