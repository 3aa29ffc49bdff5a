package io.flotilla.internal;

import io.flotilla.Delivery;
import io.flotilla.Member;
import io.flotilla.spi.PeerConnection;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;

/**
 * The messages this node receives from one member: puts them in sequence order, drops duplicates, queues them for
 * delivery, and remembers recent {@code PROCESSED} results to answer retransmissions.
 *
 * <p>A message is acknowledged (cumulatively) once everything before it arrived; it is then delivered to listeners
 * in sequence order by one task at a time on the delivery executor. The {@code ACK} goes at the end of a read batch,
 * unless the {@code RESULT} of a {@code PROCESSED} message will carry it: when the batch's last in-order message is
 * one whose sender takes its {@code RESULT} as an acknowledgement ({@link Frame#FLAG_RESULT_ACKS}) and no
 * {@code RECEIVED} message waits for an acknowledgement (those complete on arrival, never after processing), no
 * {@code ACK} is sent, and the {@code RESULT}, sent anyway once the listener ran, acknowledges everything up to it.
 *
 * <p>A message that arrives on a lane ({@link PeerConnection#lane()}) is answered on that lane, once: a {@code
 * PROCESSED} one by its {@code RESULT}, any other by the first cumulative {@code ACK} that reaches it (sent on the
 * lane as well as, when due, on the connection of the read). Nothing else goes on a lane: the acknowledgements of
 * other messages go on the last other connection a message came on.
 *
 * <p>Only while the sender is a member of this node's view. Messages that arrive while it is not (it connected but
 * has not joined yet, or it was removed) are held, in order and unacknowledged, at most {@link #MAX_HELD_BYTES};
 * further ones are dropped unacknowledged and the sender sends them again. When it joins (again), the held messages
 * are acknowledged and delivered. Messages acknowledged before it left are still delivered: their sender was told
 * they arrived.
 *
 * <p>Threading: {@link #onData}, {@link #onSync} and {@link #ackIfDue} run on I/O threads, concurrently for the
 * pool's connections; {@link #nextBatch} on a delivery thread. State is guarded by this object's monitor, held only
 * for bookkeeping.
 */
final class InboundStream {
    /** A byte in a {@code RESULT} payload: the listener returned. */
    static final byte RESULT_OK = 0;
    /** A byte in a {@code RESULT} payload: the listener threw; UTF-8 error text follows. */
    static final byte RESULT_FAILED = 1;
    private static final int MAX_ERROR_BYTES = 1024;
    /** Payload bytes held at most for a sender outside the view; beyond, its messages are dropped unacknowledged. */
    static final long MAX_HELD_BYTES = 1 << 20;
    /** Lazy messages acknowledged together at most ({@link Frame#FLAG_LAZY_ACK}). */
    static final int LAZY_ACK_FRAMES = 64;
    /** How long an acknowledgement of lazy messages waits at most for a read that brings more. */
    static final long LAZY_ACK_NANOS = 1_000_000;

    /** What {@link #onData} decided. */
    enum Outcome { QUEUED_AND_SCHEDULE, QUEUED, BUFFERED, DUPLICATE, OUT_OF_WINDOW, HELD_FULL }

    final Member sender;
    private final long maxBufferedBytes;
    private final int maxAhead;
    private final int maxResults;
    private final NodeMeters meters;
    private final BooleanSupplier inView;
    private long expected = 1;
    private final HashMap<Long, Frame> early = new HashMap<>();
    private final ArrayDeque<Frame> ready = new ArrayDeque<>();
    /** In-order messages that arrived while the sender was outside the view: not acknowledged, not delivered. */
    private final ArrayDeque<Frame> held = new ArrayDeque<>();
    /** Whether the sender is in the view, as of the last {@link #viewChanged}. */
    private boolean member;
    /** While the sender is outside the view: the highest sequence number acknowledged before it left. */
    private long ackLimit;
    /** Results of delivered {@code PROCESSED} messages, in sequence order; null value for success. */
    private final LinkedHashMap<Long, String> results = new LinkedHashMap<>();
    private final Set<PeerConnection> paused = new HashSet<>();
    private long bufferedBytes;
    /** The highest number acknowledged, by an {@code ACK} or by a {@code RESULT} that acknowledges. */
    private long lastAcked;
    /** The highest number of an in-order {@code RECEIVED} message: it must be acknowledged on arrival. */
    private long lastReceived;
    /** The highest number of an in-order {@code PROCESSED} message whose {@code RESULT} acknowledges. */
    private long lastResultAcks;
    /**
     * The highest number of an in-order message to acknowledge at the end of its read: one without {@link
     * Frame#FLAG_LAZY_ACK} whose {@code RESULT} does not acknowledge it.
     */
    private long lastEager;
    /** Since when an acknowledgement of lazy messages only was put off ({@link #ackIfDue}); valid while pending. */
    private long lazySince;
    private boolean lazyPending;
    private boolean ackForced;
    private boolean scheduled;
    /** The last connection other than a lane that brought a message: where acknowledgements and results go. */
    private PeerConnection replyTo;
    /** Messages that came on a lane and wait for the {@code ACK} that answers them there, by sequence number. */
    private final TreeMap<Long, PeerConnection> laneAcks = new TreeMap<>();
    /** {@code PROCESSED} messages that came on a lane: their {@code RESULT} goes there. */
    private final HashMap<Long, PeerConnection> laneResults = new HashMap<>();

    /**
     * @param inView whether the sender is in this node's current view; read on {@link #viewChanged} only (the
     *     stream starts outside the view until the first call)
     */
    InboundStream(Member sender, long maxBufferedBytes, int maxAhead, int maxResults, NodeMeters meters,
            BooleanSupplier inView) {
        this.sender = sender;
        this.maxBufferedBytes = maxBufferedBytes;
        this.maxAhead = maxAhead;
        this.maxResults = maxResults;
        this.meters = meters;
        this.inView = inView;
    }

    /**
     * Reads whether the sender is in the view now. On joining, its held messages become deliverable and are
     * acknowledged (as at the end of a read at {@code now}: lazy ones may wait); on leaving, acknowledgements stop
     * where they are. Returns true when the caller must run {@link #nextBatch} on the delivery executor.
     */
    boolean viewChanged(long now) {
        boolean joined = false;
        boolean schedule = false;
        synchronized (this) {
            boolean in = inView.getAsBoolean();
            if (in && !member) {
                member = true;
                ready.addAll(held);
                held.clear();
                joined = true;
            } else if (!in && member) {
                member = false;
                ackLimit = expected - 1;
            }
            if (!ready.isEmpty() && !scheduled) {
                scheduled = true;
                schedule = true;
            }
        }
        if (joined) {
            ackIfDue(null, now);
        }
        return schedule;
    }

    /**
     * Takes a {@code DATA} frame. Returns what happened; {@code QUEUED_AND_SCHEDULE} means the caller must run
     * {@link #nextBatch} on the delivery executor. For a duplicate {@code PROCESSED} message whose result is known,
     * sends the result again on {@code conn}.
     */
    Outcome onData(PeerConnection conn, Frame frame) {
        Frame resend = null;
        Outcome outcome;
        boolean lane = conn.lane();
        synchronized (this) {
            long seq = frame.messageId();
            if (!lane) {
                replyTo = conn;
            } else if ((frame.flags() & Frame.DELIVERY_MASK) == Delivery.PROCESSED.ordinal()) {
                laneResults.put(seq, conn);
            } else {
                laneAcks.put(seq, conn);
            }
            long lowWater = seq - frame.window();
            if (lowWater > expected) {
                skipTo(lowWater);
            }
            pruneResults(lowWater);
            if (seq < expected) {
                meters.duplicates.increment();
                if ((frame.flags() & Frame.DELIVERY_MASK) == Delivery.PROCESSED.ordinal()) {
                    resend = results.containsKey(seq) ? resultFrame(seq, results.get(seq)) : null;
                    if (resend != null) {
                        laneResults.remove(seq);
                    }
                }
                // A duplicate means our ack was lost or late: acknowledge again.
                ackForced = true;
                outcome = Outcome.DUPLICATE;
            } else if (!member && bufferedBytes + frame.payloadLength() > MAX_HELD_BYTES) {
                meters.outsideView.increment();
                outcome = Outcome.HELD_FULL;
            } else if (seq == expected) {
                enqueueReady(frame);
                expected++;
                drainEarly();
                outcome = Outcome.QUEUED;
            } else if (seq - expected > maxAhead) {
                meters.outOfWindow.increment();
                outcome = Outcome.OUT_OF_WINDOW;
            } else if (early.putIfAbsent(seq, frame) != null) {
                meters.duplicates.increment();
                outcome = Outcome.DUPLICATE;
            } else {
                bufferedBytes += frame.payloadLength();
                outcome = Outcome.BUFFERED;
            }
            if (bufferedBytes > maxBufferedBytes && paused.add(conn)) {
                conn.pauseReading();
            }
            if (!ready.isEmpty() && !scheduled) {
                scheduled = true;
                outcome = Outcome.QUEUED_AND_SCHEDULE;
            }
        }
        if (resend != null) {
            conn.send(resend);
        }
        return outcome;
    }

    /** The sender gave up on everything below {@code lowWater}; true when delivery must be scheduled. */
    boolean onSync(long lowWater) {
        synchronized (this) {
            ackForced = true; // also sent by a closing sender that waits for its lazy messages' acknowledgement
            if (lowWater > expected) {
                skipTo(lowWater);
            }
            pruneResults(lowWater);
            if (!ready.isEmpty() && !scheduled) {
                scheduled = true;
                return true;
            }
            return false;
        }
    }

    private void enqueueReady(Frame frame) {
        release(frame);
        bufferedBytes += frame.payloadLength();
    }

    /** An in-order message: deliverable while the sender is a member, held otherwise. */
    private void release(Frame frame) {
        int flags = frame.flags();
        int delivery = flags & Frame.DELIVERY_MASK;
        boolean resultAcks = delivery == Delivery.PROCESSED.ordinal() && (flags & Frame.FLAG_RESULT_ACKS) != 0;
        if (delivery == Delivery.RECEIVED.ordinal()) {
            lastReceived = frame.messageId();
        } else if (resultAcks) {
            lastResultAcks = frame.messageId();
        }
        if ((flags & Frame.FLAG_LAZY_ACK) == 0 && !resultAcks) {
            lastEager = frame.messageId();
        }
        if (member) {
            ready.addLast(frame);
        } else {
            held.addLast(frame);
            meters.held.increment();
        }
    }

    private void drainEarly() {
        if (early.isEmpty()) {
            return; // the usual case: no boxed key per in-order frame
        }
        Frame next;
        while ((next = early.remove(expected)) != null) {
            release(next);
            expected++;
        }
    }

    private void skipTo(long lowWater) {
        List<Long> below = new ArrayList<>();
        for (Long seq : early.keySet()) {
            if (seq < lowWater) {
                below.add(seq);
            }
        }
        below.sort(null);
        for (Long seq : below) {
            release(early.remove(seq));
        }
        meters.skipped.increment((lowWater - expected) - below.size());
        expected = lowWater;
        drainEarly();
    }

    private void pruneResults(long lowWater) {
        for (Iterator<Long> it = results.keySet().iterator(); it.hasNext(); ) {
            if (it.next() >= lowWater) {
                break;
            }
            it.remove();
        }
        // The sender settled everything below its low-water mark: nobody reads those lanes' answers any more.
        if (!laneAcks.isEmpty()) {
            laneAcks.headMap(lowWater).clear();
        }
        if (!laneResults.isEmpty()) {
            laneResults.keySet().removeIf(seq -> seq < lowWater);
        }
    }

    /**
     * Sends a cumulative {@code ACK} on {@code conn} if anything arrived since the last one, unless the {@code RESULT}
     * of the last message that arrived will acknowledge it all (see the class comment), or everything unacknowledged
     * is lazy ({@link Frame#FLAG_LAZY_ACK}), fewer than {@link #LAZY_ACK_FRAMES}, the first put off less than {@link
     * #LAZY_ACK_NANOS} before {@code now}: then a later read, or {@link #flushLazy}, acknowledges it. When {@code conn}
     * is a lane, or null, that {@code ACK} goes on the last other connection instead. Every lane whose message the
     * acknowledgement reaches gets it too, whether or not it was due.
     */
    void ackIfDue(PeerConnection conn, long now) {
        long upTo;
        List<PeerConnection> lanes;
        PeerConnection on;
        boolean due;
        synchronized (this) {
            upTo = member ? expected - 1 : Math.min(expected - 1, ackLimit);
            on = conn == null || conn.lane() ? replyTo : conn;
            lanes = dueLanes(upTo);
            if (lanes != null) {
                lastAcked = Math.max(lastAcked, upTo); // the lanes' acknowledgements cover it all
            }
            due = on != null && ackDue(upTo, now);
            if (due) {
                lastAcked = Math.max(lastAcked, upTo);
                ackForced = false;
                lazyPending = false;
            }
        }
        if (lanes != null) {
            Frame ack = Frame.control(FrameType.ACK, upTo);
            for (PeerConnection lane : lanes) {
                lane.send(ack);
            }
        }
        if (due) {
            on.send(Frame.control(FrameType.ACK, upTo));
        }
    }

    /** Whether a cumulative {@code ACK} up to {@code upTo} is due (see {@link #ackIfDue}); under the monitor. */
    private boolean ackDue(long upTo, long now) {
        if (ackForced) {
            return true;
        }
        if (upTo <= lastAcked) {
            lazyPending = false; // a RESULT acknowledged what was put off
            return false;
        }
        if (upTo == lastResultAcks && lastReceived <= lastAcked) {
            return false;
        }
        if (lastEager <= lastAcked && upTo - lastAcked < LAZY_ACK_FRAMES) {
            if (!lazyPending) {
                lazyPending = true;
                lazySince = now;
            }
            return now - lazySince >= LAZY_ACK_NANOS;
        }
        return true;
    }

    /** The lanes whose messages {@code upTo} reaches, taken from {@link #laneAcks}, or null; under the monitor. */
    private List<PeerConnection> dueLanes(long upTo) {
        if (laneAcks.isEmpty() || laneAcks.firstKey() > upTo) {
            return null;
        }
        Map<Long, PeerConnection> due = laneAcks.headMap(upTo, true);
        List<PeerConnection> out = new ArrayList<>(due.values());
        due.clear();
        return out;
    }

    /** The node's timer: acknowledges lazy messages put off since the last tick, on the connection they came on. */
    void flushLazy(long now) {
        PeerConnection conn;
        synchronized (this) {
            if (!lazyPending || replyTo == null) {
                return;
            }
            ackForced = true;
            conn = replyTo;
        }
        ackIfDue(conn, now);
    }

    /**
     * Takes up to {@code max} messages for delivery, or returns an empty list and marks the stream idle. Resumes
     * paused connections once the buffer drained below half.
     */
    List<Frame> nextBatch(int max) {
        List<PeerConnection> resume;
        List<Frame> batch;
        synchronized (this) {
            if (ready.isEmpty()) {
                scheduled = false;
                return List.of();
            }
            batch = new ArrayList<>(Math.min(max, ready.size()));
            while (batch.size() < max && !ready.isEmpty()) {
                Frame f = ready.pollFirst();
                bufferedBytes -= f.payloadLength();
                batch.add(f);
            }
            resume = resumable();
        }
        if (resume != null) {
            resume.forEach(PeerConnection::resumeReading);
        }
        return batch;
    }

    /*
     * Delivery on the I/O thread that read a message (DefaultNode's inline delivery): the thread that got
     * QUEUED_AND_SCHEDULE owns delivery, as a delivery task would, until endInline hands it on or gives it up. It alone
     * takes messages, so the one peek shows is the one poll takes; other I/O threads only add behind it.
     */

    /** The next message for delivery, or null; for the thread that owns delivery. */
    synchronized Frame peek() {
        return ready.peekFirst();
    }

    /** Takes the message {@link #peek} showed; for the thread that owns delivery. */
    Frame poll() {
        List<PeerConnection> resume;
        Frame f;
        synchronized (this) {
            f = ready.pollFirst();
            if (f == null) {
                return null;
            }
            bufferedBytes -= f.payloadLength();
            resume = resumable();
        }
        if (resume != null) {
            resume.forEach(PeerConnection::resumeReading);
        }
        return f;
    }

    /** Ends delivery on an I/O thread: true when messages remain and the caller must schedule {@link #nextBatch}. */
    synchronized boolean endInline() {
        if (ready.isEmpty()) {
            scheduled = false;
            return false;
        }
        return true;
    }

    /** The paused connections to resume now that the buffer drained below half, or null; under the monitor. */
    private List<PeerConnection> resumable() {
        if (paused.isEmpty() || bufferedBytes > maxBufferedBytes / 2) {
            return null;
        }
        List<PeerConnection> resume = new ArrayList<>(paused);
        paused.clear();
        return resume;
    }

    /**
     * Records the outcome of a delivered {@code PROCESSED} message and sends it to the sender. When the sender takes
     * the {@code RESULT} as an acknowledgement, it counts as one: everything up to the message arrived.
     */
    void completeProcessed(Frame message, String error) {
        long seq = message.messageId();
        PeerConnection conn;
        synchronized (this) {
            if ((message.flags() & Frame.FLAG_RESULT_ACKS) != 0 && seq > lastAcked) {
                lastAcked = seq;
            }
            results.put(seq, error);
            if (results.size() > maxResults) {
                Iterator<Map.Entry<Long, String>> it = results.entrySet().iterator();
                it.next();
                it.remove();
            }
            conn = laneResults.isEmpty() ? null : laneResults.remove(seq);
            if (conn == null || !conn.isOpen()) {
                conn = replyTo;
            }
        }
        if (conn != null) {
            conn.send(resultFrame(seq, error));
        }
    }

    static Frame resultFrame(long seq, String error) {
        if (error == null) {
            return new Frame(FrameType.RESULT, 0, 0, 0, seq, ByteBuffer.wrap(new byte[] {RESULT_OK}));
        }
        byte[] text = error.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(text.length, MAX_ERROR_BYTES);
        ByteBuffer b = ByteBuffer.allocate(1 + len);
        b.put(RESULT_FAILED).put(text, 0, len).flip();
        return new Frame(FrameType.RESULT, 0, 0, 0, seq, b);
    }

    /** The error text of a {@code RESULT} payload, or null for success. */
    static String readResult(Frame f) {
        ByteBuffer b = f.payload().duplicate();
        if (!b.hasRemaining() || b.get() == RESULT_OK) {
            return null;
        }
        byte[] text = new byte[Math.min(b.remaining(), MAX_ERROR_BYTES)];
        b.get(text);
        return new String(text, StandardCharsets.UTF_8);
    }

    synchronized long bufferedBytes() {
        return bufferedBytes;
    }
}
