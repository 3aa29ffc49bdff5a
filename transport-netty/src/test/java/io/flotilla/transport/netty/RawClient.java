package io.flotilla.transport.netty;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameCodec;
import io.flotilla.wire.FrameType;
import io.flotilla.wire.Handshake;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;

/** A plain blocking socket speaking (or not) the wire format by hand, to test the receiver from outside. */
final class RawClient implements AutoCloseable {
    final Socket socket;
    final Member member;
    private final InputStream in;
    private final OutputStream out;

    RawClient(InetSocketAddress address) throws IOException {
        socket = new Socket();
        socket.connect(address, 5000);
        socket.setSoTimeout(5000);
        socket.setTcpNoDelay(true);
        in = socket.getInputStream();
        out = socket.getOutputStream();
        member = new Member(MemberId.random(), "raw", "127.0.0.1", 1, "", new byte[0], 0);
    }

    void write(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void writeFrame(Frame f) throws IOException {
        write(FrameCodec.encode(f));
    }

    /** HELLO as {@link #member} in {@code cluster}; returns the member of the HELLO_ACK. */
    Member handshake(String cluster) throws IOException {
        writeFrame(Handshake.hello(cluster, member));
        Frame ack = readFrame();
        if (ack.type() != FrameType.HELLO_ACK) {
            throw new IOException("expected HELLO_ACK, got " + ack.type() + ": "
                    + (ack.type() == FrameType.REFUSE ? Handshake.readRefuse(ack) : ""));
        }
        return Handshake.readHelloAck(ack).member();
    }

    Frame readFrame() throws IOException {
        DataInputStream data = new DataInputStream(in);
        byte[] header = new byte[FrameCodec.HEADER_BYTES];
        data.readFully(header);
        FrameCodec.Header h = FrameCodec.readHeader(ByteBuffer.wrap(header), Integer.MAX_VALUE);
        byte[] payload = new byte[h.payloadLength()];
        data.readFully(payload);
        return h.withPayload(ByteBuffer.wrap(payload));
    }

    /**
     * Reads until the peer closes (end of stream or reset). Returns true when it closed within {@code timeout};
     * whatever it sent before (e.g. a REFUSE) is skipped.
     */
    boolean awaitClosed(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] buf = new byte[4096];
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
            try {
                if (in.read(buf) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException e) {
                return false;
            } catch (EOFException | SocketException e) {
                return true;
            }
        }
    }

    /** Closes with a TCP reset instead of a FIN: a crash as the peer sees it. */
    void abort() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
