package io.flotilla.transport.netty;

import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

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
 * <p>Threading: {@link #offer} is safe from any thread; every other method runs on the channel's event loop.
 */
final class WriteQueue {
    private enum Mode { HOLD, WRITE, DISCARD }

    /** Frames written per drain before the loop yields to its other channels. */
    private static final int MAX_FRAMES_PER_DRAIN = 4096;
    /** Direct payloads larger than this are written as their own buffer instead of being copied. */
    private static final int WRAP_DIRECT_THRESHOLD = 1024;
    /** Frames up to this size are encoded back to back into shared buffers of this size. */
    private static final int BATCH_BYTES = 64 * 1024;

    private static final Logger LOG = System.getLogger(NettyTransport.class.getName());

    private final EventLoop loop;
    private final int capacity;
    private final TransportMeters meters;
    private final Object owner;
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;
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
    private Mode mode = Mode.HOLD;
    private Channel channel;

    /** A queue of at most {@code capacity} frames for the connection {@code owner} (named in logs). */
    WriteQueue(EventLoop loop, int capacity, TransportMeters meters, Object owner) {
        this.meters = meters;
        this.loop = loop;
        this.capacity = capacity;
        this.owner = owner;
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
        if (!scheduled.get() && scheduled.compareAndSet(false, true)) {
            schedule();
        }
        return true;
    }

    private void schedule() {
        try {
            loop.execute(drainTask);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down with the transport: queued frames die with it.
            meters.sendDropped.increment();
        }
    }

    /** The handshake is done: write what waits, and from now on everything offered. */
    void open(Channel ch) {
        channel = ch;
        mode = Mode.WRITE;
        drain();
    }

    /** The connection is closing: drop what waits and everything offered later. */
    void discard() {
        mode = Mode.DISCARD;
        drain();
    }

    /** Writes {@code f} at once, ahead of the queue, and flushes: handshake, refusal and goodbye frames. */
    ChannelFuture writeNow(Channel ch, Frame f) {
        ByteBuf buf = ch.alloc().ioBuffer(f.encodedLength());
        encode(f, buf);
        meters.framesSent.increment();
        meters.bytesSent.increment(f.encodedLength());
        return ch.writeAndFlush(buf);
    }

    /** Writes everything queued and flushes once. */
    void drain() {
        if (mode == Mode.HOLD) {
            // Frames wait for the handshake, which opens the queue when it completes; keep 'scheduled' set meanwhile.
            return;
        }
        if (mode == Mode.DISCARD) {
            scheduled.set(false);
            dropAll();
            return;
        }
        Channel ch = channel;
        if (!ch.isWritable()) {
            // The writability change drains; keep 'scheduled' set so producers do not schedule in vain.
            return;
        }
        scheduled.set(false);
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
        if (frames == 0) {
            return;
        }
        ch.flush();
        meters.framesSent.increment(frames);
        meters.bytesSent.increment(bytes);
        boolean more = hasMore();
        release();
        if (!ch.isWritable()) {
            scheduled.set(true);
        } else if (frames >= MAX_FRAMES_PER_DRAIN && more && scheduled.compareAndSet(false, true)) {
            schedule();
        }
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
