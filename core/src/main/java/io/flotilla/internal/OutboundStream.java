package io.flotilla.internal;

import io.flotilla.Delivery;
import io.flotilla.DeliveryTimeoutException;
import io.flotilla.Member;
import io.flotilla.NodeClosedException;
import io.flotilla.RemoteProcessingException;
import io.flotilla.SendQueueFullException;
import io.flotilla.spi.Clock;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * The messages this node sends to one member: sequence numbers, the retransmission queue of unacknowledged
 * messages, and the sends waiting for a {@code PROCESSED} result.
 *
 * <p>Sequence numbers start at 1 and grow by one per message. A message stays queued until the member's
 * cumulative {@code ACK} covers it; a {@code PROCESSED} message also waits for its {@code RESULT}. A {@code RESULT}
 * acknowledges like an {@code ACK} up to its number (the member sends it only once the message was delivered, so
 * everything before it arrived), and {@code PROCESSED} frames carry {@link Frame#FLAG_RESULT_ACKS} to tell the member
 * so: it then leaves out the {@code ACK} its {@code RESULT} stands in for. Each {@code DATA} frame carries the
 * low-water mark (the oldest sequence number still queued) so the receiver can skip numbers the sender gave up on.
 *
 * <p>Threading: every method is safe from any thread; state is guarded by one lock held only for bookkeeping,
 * never while sending or completing futures. Methods return the futures to complete; the caller completes them
 * (on any thread: they are {@link DeliveryFuture}s, whose dependents run on the delivery executor).
 */
final class OutboundStream {
    /** A message in flight to this member. */
    static final class Pending {
        final long seq;
        final Frame frame;
        final Delivery delivery;
        final CompletableFuture<Void> future;
        final long enqueuedNanos;
        final long deadlineNanos;
        long lastSentNanos;
        boolean acked;
        boolean settled;

        Pending(long seq, Frame frame, Delivery delivery, CompletableFuture<Void> future, long now, long timeout) {
            this.seq = seq;
            this.frame = frame;
            this.delivery = delivery;
            this.future = future;
            this.enqueuedNanos = now;
            this.deadlineNanos = now + timeout;
            this.lastSentNanos = now;
        }
    }

    /** A future to complete (error null) or fail, with the latency to record. */
    record Settlement(Pending pending, RuntimeException error) { }

    final Member member;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition room = lock.newCondition();
    private final int maxMessages;
    private final long maxBytes;
    /** Where the dependents of this stream's send futures run (the node's delivery executor). */
    private final Executor completions;
    private final DeliveryFuture.WaitSpin spin;
    private final ArrayDeque<Pending> unacked = new ArrayDeque<>();
    // Insertion order is sequence order, so the first key is the oldest message still waiting for a result.
    private final LinkedHashMap<Long, Pending> awaitingResult = new LinkedHashMap<>();
    private long nextSeq = 1;
    private long highestAcked;
    private long queuedBytes;
    private int failedRounds;
    private long lastProgressNanos;
    private boolean closed;

    OutboundStream(Member member, int maxMessages, long maxBytes, long now,
            Executor completions, DeliveryFuture.WaitSpin spin) {
        this.member = member;
        this.completions = completions;
        this.spin = spin;
        this.maxMessages = maxMessages;
        this.maxBytes = maxBytes;
        this.lastProgressNanos = now;
    }

    /**
     * Assigns the next sequence number and queues the message, waiting for room up to {@code timeoutNanos}.
     *
     * @param awaited whether a thread will block on the send (the frame's {@link Frame#awaited()})
     * @param clock reads monotonic time for the wait
     * @throws SendQueueFullException when no room appeared in time
     * @throws NodeClosedException when the stream closed
     * @throws InterruptedException when the waiting thread was interrupted
     */
    Pending enqueue(int topic, ByteBuffer payload, Delivery delivery, boolean awaited, Clock clock,
            long timeoutNanos) throws InterruptedException {
        int size = payload.remaining();
        CompletableFuture<Void> future = delivery == Delivery.ASYNC ? null : new DeliveryFuture<>(completions, spin);
        lock.lock();
        try {
            long waitNanos = timeoutNanos;
            while (!closed && (unacked.size() >= maxMessages || queuedBytes + size > maxBytes)) {
                if (waitNanos <= 0) {
                    throw new SendQueueFullException(member, "send queue to " + member.describe()
                            + (timeoutNanos == 0 ? " was full for a send from a listener on an I/O thread, which never"
                                    + " waits (" : " stayed full for " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                                    + " ms (")
                            + unacked.size() + " messages, " + queuedBytes + " bytes unacknowledged): the member"
                            + " is not keeping up; raise maxQueuedMessages/maxQueuedBytes or send less");
                }
                waitNanos = room.awaitNanos(waitNanos);
            }
            if (closed) {
                throw new NodeClosedException("stream to " + member.describe() + " is closed");
            }
            long now = clock.nanoTime();
            if (unacked.isEmpty() && awaitingResult.isEmpty()) {
                // Nothing was outstanding: the wait for an answer starts now, not at the last answer (a PROCESSED
                // message is acknowledged by its RESULT, after its listener ran: an old mark would resend it).
                lastProgressNanos = now;
            }
            long lowWater = lowWaterLocked();
            long seq = nextSeq++;
            int flags = delivery.ordinal() | (delivery == Delivery.PROCESSED ? Frame.FLAG_RESULT_ACKS : 0)
                    | (awaited ? 0 : Frame.FLAG_LAZY_ACK);
            Frame frame = new Frame(FrameType.DATA, flags, topic, seq - lowWater, seq, payload, awaited);
            Pending p = new Pending(seq, frame, delivery, future, now, timeoutNanos);
            unacked.addLast(p);
            queuedBytes += size;
            if (delivery == Delivery.PROCESSED) {
                awaitingResult.put(seq, p);
            }
            return p;
        } finally {
            lock.unlock();
        }
    }

    /** The member acknowledged receipt of everything up to {@code upTo}. */
    List<Settlement> onAck(long upTo, long now) {
        lock.lock();
        try {
            List<Settlement> done = acknowledge(upTo, now);
            return done == null ? List.of() : done;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The member's listener finished message {@code seq}; {@code error} is null on success. The member delivered it,
     * so everything up to it arrived: this acknowledges as {@link #onAck} would, then settles the message itself.
     */
    List<Settlement> onResult(long seq, String error, long now) {
        lock.lock();
        try {
            List<Settlement> done = acknowledge(seq, now);
            Pending p = awaitingResult.remove(seq);
            if (p != null && !p.settled) {
                p.settled = true;
                room.signalAll();
                done = add(done, new Settlement(p, error == null ? null : new RemoteProcessingException(member,
                        error)));
            }
            return done == null ? List.of() : done;
        } finally {
            lock.unlock();
        }
    }

    /** Releases everything up to {@code upTo}; returns the {@code RECEIVED} sends it settles, or null for none. */
    private List<Settlement> acknowledge(long upTo, long now) {
        if (upTo <= highestAcked || upTo >= nextSeq) {
            // Old news, or an ack for numbers never sent (a confused or hostile peer): ignore, never corrupt state.
            return null;
        }
        highestAcked = upTo;
        lastProgressNanos = now;
        failedRounds = 0;
        List<Settlement> out = null;
        while (!unacked.isEmpty() && unacked.peekFirst().seq <= upTo) {
            Pending p = unacked.pollFirst();
            p.acked = true;
            queuedBytes -= p.frame.payloadLength();
            if (p.delivery == Delivery.RECEIVED && !p.settled) {
                p.settled = true;
                out = add(out, new Settlement(p, null));
            }
        }
        room.signalAll();
        return out;
    }

    /**
     * Fails the futures whose deadline passed. The messages stay queued for retransmission: a timeout means "not
     * known to be delivered", and dropping them would open a gap in the stream.
     */
    List<Settlement> expire(long now) {
        lock.lock();
        try {
            List<Settlement> out = null;
            for (Pending p : unacked) {
                if (now - p.deadlineNanos < 0) {
                    break;
                }
                if (p.future != null && !p.settled && p.delivery == Delivery.RECEIVED) {
                    p.settled = true;
                    out = add(out, new Settlement(p, timeout(p)));
                }
            }
            for (Iterator<Pending> it = awaitingResult.values().iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (now - p.deadlineNanos >= 0) {
                    it.remove();
                    if (!p.settled) {
                        p.settled = true;
                        out = add(out, new Settlement(p, timeout(p)));
                    }
                }
            }
            return out == null ? List.of() : out;
        } finally {
            lock.unlock();
        }
    }

    private DeliveryTimeoutException timeout(Pending p) {
        return new DeliveryTimeoutException(member, "no " + (p.delivery == Delivery.RECEIVED ? "acknowledgement"
                : "result") + " from " + member.describe() + " within "
                + TimeUnit.NANOSECONDS.toMillis(p.deadlineNanos - p.enqueuedNanos) + " ms (message " + p.seq + ")");
    }

    /**
     * The frames to send again when nothing was acknowledged for {@code stallNanos}: up to {@code max} of the
     * oldest unacknowledged messages, plus acknowledged {@code PROCESSED} ones still missing their result.
     */
    List<Frame> stalled(long now, long stallNanos, int max) {
        lock.lock();
        try {
            if (unacked.isEmpty() && awaitingResult.isEmpty() || now - lastProgressNanos < stallNanos) {
                return List.of();
            }
            lastProgressNanos = now;
            return resendable(now, max);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A connection to the member failed. Returns the frames to send again, or, after more than
     * {@code maxRetryAttempts} failures in a row without progress, null: the caller then abandons the stream.
     */
    List<Frame> onConnectionFailure(long now, int maxRetryAttempts) {
        lock.lock();
        try {
            if (unacked.isEmpty() && awaitingResult.isEmpty()) {
                return List.of();
            }
            if (++failedRounds > maxRetryAttempts) {
                return null;
            }
            return resendable(now, Integer.MAX_VALUE);
        } finally {
            lock.unlock();
        }
    }

    private List<Frame> resendable(long now, int max) {
        List<Frame> frames = new ArrayList<>(Math.min(max, unacked.size() + awaitingResult.size()));
        for (Pending p : unacked) {
            if (frames.size() >= max) {
                break;
            }
            frames.add(retransmission(p, now));
        }
        for (Pending p : awaitingResult.values()) {
            if (p.acked && frames.size() < max) {
                frames.add(retransmission(p, now));
            }
        }
        return frames;
    }

    private Frame retransmission(Pending p, long now) {
        p.lastSentNanos = now;
        long lowWater = Math.min(p.seq, lowWaterLocked());
        Frame f = p.frame;
        return new Frame(FrameType.DATA, f.flags() | Frame.FLAG_RETRANSMIT, f.topic(), p.seq - lowWater, p.seq,
                f.payload(), f.awaited());
    }

    /**
     * Gives up on every queued message: fails the unsettled futures with {@code error}. Later messages carry a
     * low-water mark past the abandoned ones, so the receiver skips them.
     *
     * @return the settlements and the number of messages abandoned
     */
    List<Settlement> abandonAll(Function<Member, RuntimeException> error, boolean close) {
        lock.lock();
        try {
            List<Settlement> out = new ArrayList<>();
            for (Pending p : unacked) {
                if (!p.settled) {
                    p.settled = true;
                    if (p.future != null) {
                        out.add(new Settlement(p, error.apply(member)));
                    } else {
                        out.add(new Settlement(p, null));
                    }
                }
            }
            for (Pending p : awaitingResult.values()) {
                if (!p.settled) {
                    p.settled = true;
                    out.add(new Settlement(p, error.apply(member)));
                }
            }
            unacked.clear();
            awaitingResult.clear();
            queuedBytes = 0;
            failedRounds = 0;
            closed |= close;
            room.signalAll();
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** The lowest sequence number still queued, or the next one to be used: what a {@code SYNC} carries. */
    long lowWater() {
        lock.lock();
        try {
            return lowWaterLocked();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The oldest message the receiver may still need: unacknowledged, or acknowledged but without its result (the
     * receiver keeps results at or above this mark to answer retransmissions).
     */
    private long lowWaterLocked() {
        long low = unacked.isEmpty() ? nextSeq : unacked.peekFirst().seq;
        if (!awaitingResult.isEmpty()) {
            low = Math.min(low, awaitingResult.keySet().iterator().next());
        }
        return low;
    }

    int queuedMessages() {
        lock.lock();
        try {
            return unacked.size();
        } finally {
            lock.unlock();
        }
    }

    /** Waits until nothing is queued or the deadline passes; true when drained. */
    boolean awaitDrained(long timeoutNanos) throws InterruptedException {
        lock.lock();
        try {
            long wait = timeoutNanos;
            while (!unacked.isEmpty() || !awaitingResult.isEmpty()) {
                if (wait <= 0) {
                    return false;
                }
                wait = room.awaitNanos(wait);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private static <T> List<T> add(List<T> list, T item) {
        List<T> l = list == null ? new ArrayList<>() : list;
        l.add(item);
        return l;
    }
}
