package io.flotilla.transport.netty;

import io.flotilla.Member;
import io.flotilla.spi.PeerLane;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.Handshake;
import io.flotilla.wire.Handshaker;
import io.flotilla.wire.WireException;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link PeerLane} on a blocking JDK socket, driven by the thread that holds it: no event loop, no Netty type.
 * Connected and handshaken by the thread that opens it ({@link Handshaker#connectingLane}: the same handshake as a
 * pooled connection's, secret proofs included, flagged as a lane, and refused unless the peer agrees). Reads go
 * through a small buffer, so the answer's header and payload come in one {@code read}; a read that times out before
 * a frame's first byte returns null, one that stops in the middle of a frame breaks the lane.
 *
 * <p>Threading: {@link #write} and {@link #read} from the one thread that holds the lane; {@link #close} from any.
 */
final class BlockingLane implements PeerLane {
    private static final int READ_BUFFER_BYTES = 8192;

    private final NettyTransport.LanePool pool;
    private final Member remote;
    private final SocketChannel channel;
    private final InputStream in;
    private final ByteBuffer header = ByteBuffer.allocate(FrameCodec.HEADER_BYTES);
    private final byte[] headerBytes = new byte[FrameCodec.HEADER_BYTES];
    /** How long the rest of a frame may take once its first byte arrived. */
    private final int frameMillis;
    private final AtomicBoolean closed = new AtomicBoolean();
    private int maxFrameBytes = FrameCodec.HANDSHAKE_MAX_FRAME_BYTES;
    /** When the lane was last given back ({@link System#nanoTime()}); written under the pool's lock. */
    long idleSince;

    private BlockingLane(NettyTransport.LanePool pool, Member remote, SocketChannel channel, int frameMillis)
            throws IOException {
        this.pool = pool;
        this.remote = remote;
        this.channel = channel;
        this.frameMillis = frameMillis;
        this.in = new BufferedInputStream(channel.socket().getInputStream(), READ_BUFFER_BYTES);
    }

    /**
     * Connects to {@code member} and runs the handshake, on the calling thread.
     *
     * @throws IOException when it cannot connect, the handshake fails or times out, or the peer does not know lanes
     */
    static BlockingLane open(NettyTransport transport, NettyTransport.LanePool pool, Member member)
            throws IOException {
        NettyTransportConfig config = transport.config();
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().setTcpNoDelay(true);
            ch.socket().connect(new InetSocketAddress(member.host(), member.port()),
                    (int) Math.max(1, config.connectTimeout().toMillis()));
            int frameMillis = (int) Math.max(1, config.handshakeTimeout().toMillis());
            BlockingLane lane = new BlockingLane(pool, member, ch, frameMillis);
            lane.handshake(Handshaker.connectingLane(transport.handshakeLocal(), member),
                    System.nanoTime() + config.handshakeTimeout().toNanos());
            lane.maxFrameBytes = transport.context().maxFrameBytes();
            return lane;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private void handshake(Handshaker h, long deadline) throws IOException {
        Handshaker.Step step = h.start();
        while (true) {
            for (Frame f : step.send()) {
                write(f);
            }
            switch (step.outcome()) {
                case ESTABLISHED -> {
                    return;
                }
                case REFUSED -> {
                    write(Handshake.refuse(step.reason() + ": " + step.message()));
                    throw new IOException("lane to " + remote.describe() + " refused [" + step.reason() + "]: "
                            + step.message());
                }
                case FAILED -> throw new IOException("lane to " + remote.describe() + ": " + step.message());
                case CONTINUE -> {
                    // Read the peer's next frame.
                }
            }
            long left = deadline - System.nanoTime();
            Frame f = left <= 0 ? null : readFrame(left);
            if (f == null) {
                throw new SocketTimeoutException("lane to " + remote.describe() + ": no handshake within the "
                        + "handshake timeout (waiting for " + h.awaiting() + ")");
            }
            step = h.receive(f);
        }
    }

    @Override
    public Member remote() {
        return remote;
    }

    @Override
    public void write(Frame frame) throws IOException {
        header.clear();
        FrameCodec.writeHeader(frame, header);
        header.flip();
        ByteBuffer[] out = {header, frame.payload().duplicate()};
        try {
            while (out[1].hasRemaining() || out[0].hasRemaining()) {
                channel.write(out);
            }
        } catch (IOException e) {
            close();
            throw e;
        }
    }

    @Override
    public Frame read(long timeoutNanos) throws IOException {
        Frame f;
        try {
            f = readFrame(timeoutNanos);
        } catch (IOException e) {
            close();
            throw e;
        }
        if (f == null) {
            return null;
        }
        IOException broken = switch (f.type()) {
            case ACK, RESULT -> null;
            case GOODBYE -> new EOFException("lane to " + remote.describe() + " closed by the peer");
            case REFUSE -> new IOException("lane to " + remote.describe() + " refused: " + Handshake.readRefuse(f));
            default -> new IOException("lane to " + remote.describe() + ": unexpected " + f.type() + " on a lane");
        };
        if (broken != null) {
            close();
            throw broken;
        }
        return f;
    }

    /** The next frame, or null when its first byte did not come within {@code timeoutNanos} (0: already here). */
    private Frame readFrame(long timeoutNanos) throws IOException {
        if (timeoutNanos <= 0) {
            if (in.available() == 0) {
                return null;
            }
        } else {
            channel.socket().setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE,
                    TimeUnit.NANOSECONDS.toMillis(timeoutNanos))));
        }
        int first;
        try {
            first = in.read();
        } catch (SocketTimeoutException e) {
            return null;
        }
        if (first < 0) {
            throw new EOFException("lane to " + remote.describe() + " closed by the peer");
        }
        headerBytes[0] = (byte) first;
        channel.socket().setSoTimeout(frameMillis);
        readFully(headerBytes, 1, FrameCodec.HEADER_BYTES - 1);
        FrameCodec.Header h;
        try {
            h = FrameCodec.readHeader(ByteBuffer.wrap(headerBytes), maxFrameBytes);
        } catch (WireException e) {
            throw new IOException("lane to " + remote.describe() + ": " + e.getMessage(), e);
        }
        byte[] payload = new byte[h.payloadLength()];
        readFully(payload, 0, payload.length);
        return h.withPayload(ByteBuffer.wrap(payload));
    }

    private void readFully(byte[] b, int off, int len) throws IOException {
        try {
            while (len > 0) {
                int n = in.read(b, off, len);
                if (n < 0) {
                    throw new EOFException("lane to " + remote.describe() + " closed in the middle of a frame");
                }
                off += n;
                len -= n;
            }
        } catch (SocketTimeoutException e) {
            throw new IOException("lane to " + remote.describe() + ": a frame stopped in the middle for "
                    + frameMillis + " ms", e);
        }
    }

    boolean isOpen() {
        return !closed.get() && channel.isOpen();
    }

    @Override
    public void release() {
        pool.release(this);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            try {
                channel.close();
            } catch (IOException e) {
                // Closing anyway.
            }
            pool.closed(this);
        }
    }
}
