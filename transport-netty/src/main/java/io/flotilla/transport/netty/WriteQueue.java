package io.flotilla.transport.netty;

import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The writer of one connection (the shape of grpc-java's {@code netty/WriteQueue}): frames offered from any thread
 * wait in a bounded queue; the first one that finds no drain pending schedules one drain task on the channel's event
 * loop, which encodes everything queued back to back into pooled buffers of up to {@link #BATCH_BYTES} and flushes
 * once; a drain that makes the channel unwritable stops there, and its owner calls {@link #drain()} again when the
 * channel turns writable. While the connection handshakes the frames wait; once it closes they are dropped.
 *
 * <p>The queue is two {@link ArrayDeque}s: producers append to one under a short lock, the drain swaps it for the one
 * it emptied and takes frames from it without the lock. No node is allocated per frame (the deques grow once and are
 * reused; each keeps the capacity of the longest backlog it held, at most {@code sendQueueFrames} references), the
 * lock is taken once per offer and once per swap, and nothing from Netty's internals is used.
 *
 * <p>Who writes to the socket is one atomic word, {@link #writer}: nobody ({@code IDLE}), the event loop
 * ({@code LOOP}: a drain is pending, running, or waits for the handshake or for writability) or a sending thread
 * ({@code DIRECT}), on a {@link DirectNioSocketChannel} without TLS. A thread (not the loop) that offers a frame a
 * sender waits for ({@link Frame#awaited()}: a synchronous {@code DATA}, a {@code RESULT}) to an idle, empty queue,
 * with nothing waiting in Netty's outbound buffer, writes it itself instead of waking the loop: a synchronous round
 * trip is then two thread hand-offs shorter, one on each side. What the kernel does not take at once, every frame
 * offered meanwhile, and every {@code ASYNC} frame go through the loop, which batches them. The loop never writes
 * while a sending thread does, nor the other way round; whoever releases the word looks at the queue once more, so
 * no frame is left behind.
 *
 * <p>Frames nobody waits for ({@code ASYNC}, {@code sendQueued}) that other threads offer closer together than
 * {@link #LINGER_NANOS} make the loop linger: after the drain that wrote one it keeps the word for that long, and a
 * scheduled task writes what came meanwhile in one go (and lingers again while they keep coming). The loop is then
 * woken once a linger, not once a frame, and the receiver reads one segment: asynchronous replication under load
 * costs both sides fewer wake-ups, for at most that much delay. Any other frame (one a thread waits for, or the loop's
 * own) ends the linger at once; a lone frame is written at once and the word released.
 *
 * <p>Threading: {@link #offer} is safe from any thread (and may write to the socket); every other method runs on the
 * channel's event loop.
 */
final class WriteQueue {
    private enum Mode { HOLD, WRITE, DISCARD }

    private static final int IDLE = 0;
    private static final int LOOP = 1;
    private static final int DIRECT = 2;

    /** Frames written per drain before the loop yields to its other channels. */
    private static final int MAX_FRAMES_PER_DRAIN = 4096;
    /** Direct payloads larger than this are written as their own buffer instead of being copied. */
    private static final int WRAP_DIRECT_THRESHOLD = 1024;
    /** Frames up to this size are encoded back to back into shared buffers of this size. */
    private static final int BATCH_BYTES = 64 * 1024;
    /** After senders were seen to overlap, how long awaited frames go through the loop's batches. */
    private static final long BATCH_AFTER_CONTENTION_NANOS = 1_000_000;
    /**
     * While frames nobody waits for come closer together than this, the loop that wrote them keeps the word this
     * long and writes what came meanwhile in one go, instead of being woken for each.
     */
    static final long LINGER_NANOS = 1_000_000;

    private static final Logger LOG = System.getLogger(NettyTransport.class.getName());

    private final EventLoop loop;
    private final int capacity;
    private final TransportMeters meters;
    private final Object owner;
    /** Who writes to the socket: {@link #IDLE}, {@link #LOOP} or {@link #DIRECT}. */
    private final AtomicInteger writer = new AtomicInteger(IDLE);
    private final Runnable drainTask = this::drainTask;
    private final Object lock = new Object();
    /** Where producers append. Guarded by {@link #lock}. */
    private ArrayDeque<Frame> incoming = new ArrayDeque<>();
    /** Frames offered and neither written nor dropped yet, in both deques. Guarded by {@link #lock}. */
    private int queued;

    // Event loop only.
    /** What the drain takes from; swapped with {@link #incoming} when empty. */
    private ArrayDeque<Frame> outgoing = new ArrayDeque<>();
    /** Frames taken from {@link #outgoing} and not yet subtracted from {@link #queued}. */
    private int taken;
    /** Written on the event loop; read by sending threads for the direct path. */
    private volatile Mode mode = Mode.HOLD;
    private Channel channel;
    /** The channel, where sending threads may write to it themselves; set when the queue opens. */
    private volatile DirectNioSocketChannel direct;
    /**
     * What the kernel did not take of a sending thread's write, set before that thread hands the word to the loop;
     * the loop's next write of any kind writes it first. Guarded by {@link #writer} (set holding {@code DIRECT},
     * taken holding {@code LOOP}).
     */
    private ByteBuf rest;
    /** Until when awaited frames go through the loop ({@link #BATCH_AFTER_CONTENTION_NANOS}); racy on purpose. */
    private volatile long batchUntil;
    /** When the last frame nobody waits for was offered by another thread than the loop; racy on purpose. */
    private volatile long lastLazy;
    /** When such a frame came less than {@link #LINGER_NANOS} after the one before it; racy on purpose. */
    private volatile long denseAt;
    /** A linger task is scheduled and holds the word ({@link #LOOP}). */
    private volatile boolean lingering;
    private final Runnable lingerTask = this::lingerTask;
    private final LongSupplier ticker;
    private final long lingerNanos;

    /** A queue of at most {@code capacity} frames for the connection {@code owner} (named in logs). */
    WriteQueue(EventLoop loop, int capacity, TransportMeters meters, Object owner) {
        this(loop, capacity, meters, owner, System::nanoTime, LINGER_NANOS);
    }

    /** As above, reading monotonic time from {@code ticker} and lingering {@code lingerNanos} (tests). */
    WriteQueue(EventLoop loop, int capacity, TransportMeters meters, Object owner, LongSupplier ticker,
            long lingerNanos) {
        this.meters = meters;
        this.loop = loop;
        this.capacity = capacity;
        this.owner = owner;
        this.ticker = ticker;
        this.lingerNanos = lingerNanos;
        long now = ticker.getAsLong();
        this.batchUntil = now;
        this.lastLazy = now - 2 * LINGER_NANOS;
        this.denseAt = lastLazy;
    }

    /** Queues {@code frame}; false when the queue is full (the caller counts the drop). Any thread. */
    boolean offer(Frame frame) {
        synchronized (lock) {
            if (queued >= capacity) {
                return false;
            }
            incoming.add(frame);
            queued++;
        }
        DirectNioSocketChannel d = direct;
        boolean awaited = frame.awaited();
        boolean inLoop = loop.inEventLoop();
        boolean lazy = !awaited && !inLoop;
        if (lazy) {
            long now = ticker.getAsLong();
            if (now - lastLazy < LINGER_NANOS) {
                denseAt = now;
            }
            lastLazy = now;
        }
        if (writer.get() == IDLE) {
            if (d != null && awaited && !inLoop && ticker.getAsLong() - batchUntil >= 0
                    && writer.compareAndSet(IDLE, DIRECT)) {
                writeDirect(d);
            } else if (writer.compareAndSet(IDLE, LOOP)) {
                schedule();
            }
        } else {
            if (!lazy && lingering) {
                schedule(); // only frames nobody waits for sit out the linger
            }
            if (awaited && d != null) {
                // Another writer is at work: senders overlap on this connection, and the loop's batches (one write
                // for many frames) now cost less than a write per frame. Leave it to the loop for a while.
                batchUntil = ticker.getAsLong() + BATCH_AFTER_CONTENTION_NANOS;
            }
        }
        return true;
    }

    /**
     * Writes what lingers now: a message on a lane ({@link BlockingLane}) follows, and its receiver would hold it until
     * the messages before it arrive. Any thread.
     */
    void endLinger() {
        if (lingering) {
            schedule();
        }
    }

    /** The end of a linger: writes what came meanwhile (and lingers again while such frames keep coming close). */
    private void lingerTask() {
        lingering = false;
        drainTask();
    }

    /**
     * Holding {@link #DIRECT}: writes the one queued frame from this thread when the connection is open and nothing
     * else waits, else leaves it to the loop. Ends by releasing the word or handing it to the loop.
     */
    private void writeDirect(DirectNioSocketChannel ch) {
        Frame f = null;
        if (mode == Mode.WRITE && ch.nothingPending()) {
            synchronized (lock) {
                Frame first = incoming.peek();
                if (incoming.size() == 1 && first.encodedLength() <= BATCH_BYTES) {
                    f = incoming.poll();
                    queued--;
                }
            }
        }
        if (f == null) {
            writer.set(LOOP);
            schedule();
            return;
        }
        int length = f.encodedLength();
        ByteBuf buf = ch.alloc().directBuffer(length);
        encode(f, buf);
        boolean written;
        try {
            written = ch.writeDirect(buf);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, () -> "direct write on " + owner + " failed: " + e);
            ch.close();
            written = false;
        }
        if (!written) {
            // The connection is lost or closing, and this frame with it, as if it had waited in the queue: the
            // engine sends it again on a new connection. The loop's drain drops what else waits.
            buf.release();
            writer.set(LOOP);
            schedule();
            return;
        }
        meters.framesSent.increment();
        meters.framesSentDirect.increment();
        meters.bytesSent.increment(length);
        if (!buf.isReadable()) {
            buf.release();
            writer.set(IDLE);
            loopIfMore();
            return;
        }
        // The kernel took part of it (a full send buffer): the loop's next write, whichever task makes it (a drain
        // scheduled earlier may run first), writes the rest ahead of anything offered meanwhile.
        rest = buf;
        writer.set(LOOP);
        schedule();
    }

    /** Holding {@link #LOOP}: hands what a sending thread's partial write left to the channel, ahead of the rest. */
    private void writeRest(Channel ch) {
        ByteBuf r = rest;
        if (r != null) {
            rest = null;
            ch.write(r, ch.voidPromise());
        }
    }

    /** After releasing the word: if a frame came in meanwhile and nobody took the word, the loop drains it. */
    private void loopIfMore() {
        boolean more;
        synchronized (lock) {
            more = !incoming.isEmpty();
        }
        if (more && writer.compareAndSet(IDLE, LOOP)) {
            schedule();
        }
    }

    /** A scheduled drain: runs unless a sending thread took the word since (it hands back what it leaves). */
    private void drainTask() {
        int w = writer.get();
        if (w == LOOP || w == IDLE && writer.compareAndSet(IDLE, LOOP)) {
            drainOwned();
        }
    }

    /**
     * Takes the word for the loop, waiting out a sending thread that writes (one non-blocking write), for the loop's
     * own writes outside a scheduled drain.
     */
    private void takeForLoop() {
        for (int spins = 1; ; spins++) {
            int w = writer.get();
            if (w == LOOP || w == IDLE && writer.compareAndSet(IDLE, LOOP)) {
                return;
            }
            if (spins % 128 == 0) {
                Thread.yield(); // the writer may have lost its core mid-write
            } else {
                Thread.onSpinWait();
            }
        }
    }

    private void schedule() {
        try {
            loop.execute(drainTask);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down with the transport: queued frames die with it.
            meters.sendDropped.increment();
        }
    }

    /**
     * The handshake is done: write what waits, and from now on everything offered; {@code sendersMayWrite} lets
     * sending threads write to the socket themselves where the channel allows it (a {@link DirectNioSocketChannel};
     * not with TLS, whose handler must see every byte).
     */
    void open(Channel ch, boolean sendersMayWrite) {
        channel = ch;
        mode = Mode.WRITE;
        if (sendersMayWrite && ch instanceof DirectNioSocketChannel d) {
            direct = d;
        }
        drain();
    }

    /** The connection is closing: drop what waits and everything offered later. */
    void discard() {
        mode = Mode.DISCARD;
        drain();
    }

    /** Writes {@code f} at once, ahead of the queue, and flushes: handshake, refusal and goodbye frames. */
    ChannelFuture writeNow(Channel ch, Frame f) {
        takeForLoop(); // released by the next drain
        writeRest(ch);
        ByteBuf buf = ch.alloc().ioBuffer(f.encodedLength());
        encode(f, buf);
        meters.framesSent.increment();
        meters.bytesSent.increment(f.encodedLength());
        ChannelFuture written = ch.writeAndFlush(buf);
        schedule();
        return written;
    }

    /** Writes everything queued and flushes once (or drops it, once closing). Event loop. */
    void drain() {
        takeForLoop();
        drainOwned();
    }

    /** {@link #drain()} holding {@link #LOOP}; releases it unless it has to wait (handshake, writability). */
    private void drainOwned() {
        if (mode == Mode.HOLD) {
            // Frames wait for the handshake, which opens the queue when it completes; keep the word meanwhile.
            return;
        }
        if (mode == Mode.DISCARD) {
            if (rest != null) {
                rest.release();
                rest = null;
            }
            dropAll();
            writer.set(IDLE);
            loopIfMore();
            return;
        }
        Channel ch = channel;
        if (rest != null) {
            writeRest(ch);
            ch.flush();
        }
        if (!ch.isWritable()) {
            // The writability change drains; keep the word so producers do not schedule in vain.
            return;
        }
        int frames = 0;
        long bytes = 0;
        ByteBuf batch = null;
        Frame f;
        while ((f = next()) != null) {
            int length = f.encodedLength();
            boolean alone = length > BATCH_BYTES || f.payload().isDirect() && f.payloadLength() > WRAP_DIRECT_THRESHOLD;
            if (batch != null && (alone || batch.writableBytes() < length)) {
                ch.write(batch, ch.voidPromise());
                batch = null;
            }
            if (alone) {
                write(ch, f);
            } else {
                if (batch == null) {
                    // A lone frame gets a buffer of its size; a backlog shares buffers of BATCH_BYTES, so the
                    // channel's outbound buffer and the writev carry one entry per batch instead of one per frame.
                    batch = ch.alloc().ioBuffer(hasMore() ? BATCH_BYTES : length);
                }
                encode(f, batch);
            }
            bytes += length;
            if (++frames >= MAX_FRAMES_PER_DRAIN || !ch.isWritable()) {
                break;
            }
        }
        if (batch != null) {
            ch.write(batch, ch.voidPromise());
        }
        if (frames > 0) {
            ch.flush();
            meters.framesSent.increment(frames);
            meters.bytesSent.increment(bytes);
        }
        boolean more = hasMore();
        release();
        if (!ch.isWritable()) {
            return; // keep the word: the writability change drains
        }
        if (more) {
            schedule(); // keep the word: yield to the loop's other channels, then go on
            return;
        }
        if (lingering) {
            return; // keep the word: the linger task scheduled earlier writes what comes meanwhile
        }
        if (frames > 0 && ticker.getAsLong() - denseAt < LINGER_NANOS) {
            // Frames nobody waits for come close together: keep the word for a while and write what comes meanwhile
            // at once, rather than be woken for each (and wake the receiver for each).
            lingering = true;
            if (hasMore()) {
                // Offered after the look above, by a thread that saw no linger yet (it may be waiting for its frame):
                // written now. The flag is set before this look, and a producer queues before it reads the flag, so
                // one of the two sees the other.
                lingering = false;
                schedule();
                return;
            }
            try {
                loop.schedule(lingerTask, lingerNanos, TimeUnit.NANOSECONDS);
                return;
            } catch (RejectedExecutionException e) {
                lingering = false; // the event loop is shutting down with the transport
            }
        }
        writer.set(IDLE);
        loopIfMore();
    }

    /** The next frame to write, refilling {@link #outgoing} from {@link #incoming} when it ran dry. */
    private Frame next() {
        Frame f = outgoing.poll();
        if (f == null && hasMore()) {
            f = outgoing.poll();
        }
        if (f != null) {
            taken++;
        }
        return f;
    }

    /** True when a frame waits; refills {@link #outgoing} if it is empty and producers added some. */
    private boolean hasMore() {
        if (!outgoing.isEmpty()) {
            return true;
        }
        synchronized (lock) {
            queued -= taken;
            taken = 0;
            if (incoming.isEmpty()) {
                return false;
            }
            ArrayDeque<Frame> full = incoming;
            incoming = outgoing;
            outgoing = full;
            return true;
        }
    }

    private void release() {
        if (taken > 0) {
            synchronized (lock) {
                queued -= taken;
                taken = 0;
            }
        }
    }

    private void dropAll() {
        int dropped = outgoing.size();
        outgoing.clear();
        synchronized (lock) {
            dropped += incoming.size();
            incoming.clear();
            queued = 0;
            taken = 0;
        }
        if (dropped > 0) {
            int n = dropped;
            LOG.log(Level.DEBUG, () -> "dropped " + n + " frames queued on closed " + owner);
        }
    }

    /** One frame as its own buffer(s): large frames, and direct payloads wrapped instead of copied. */
    private static void write(Channel ch, Frame f) {
        ByteBuffer payload = f.payload();
        int length = payload.remaining();
        if (payload.isDirect() && length > WRAP_DIRECT_THRESHOLD) {
            ByteBuf header = ch.alloc().ioBuffer(FrameCodec.HEADER_BYTES);
            writeHeader(f, length, header);
            ch.write(header, ch.voidPromise());
            ch.write(Unpooled.wrappedBuffer(payload.duplicate()), ch.voidPromise());
        } else {
            // A heap payload would be copied into direct memory by the channel anyway: copy it once, into the
            // same pooled buffer as the header, and write one buffer.
            ByteBuf buf = ch.alloc().ioBuffer(FrameCodec.HEADER_BYTES + length);
            encode(f, buf);
            ch.write(buf, ch.voidPromise());
        }
    }

    /** Header and payload into {@code buf}, leaving the frame's payload buffer untouched. */
    static void encode(Frame f, ByteBuf buf) {
        ByteBuffer payload = f.payload();
        int length = payload.remaining();
        writeHeader(f, length, buf);
        if (length > 0) {
            if (payload.hasArray()) {
                buf.writeBytes(payload.array(), payload.arrayOffset() + payload.position(), length);
            } else {
                buf.writeBytes(payload.duplicate());
            }
        }
    }

    /** The header of {@link FrameCodec}, written straight into a {@code ByteBuf}. */
    static void writeHeader(Frame f, int length, ByteBuf buf) {
        buf.writeShort(FrameCodec.MAGIC);
        buf.writeByte(FrameCodec.VERSION);
        buf.writeByte(f.type().code());
        buf.writeByte(f.flags());
        buf.writeByte(f.topic());
        buf.writeInt((int) f.window());
        buf.writeLong(f.messageId());
        buf.writeInt(length);
    }
}
