package io.flotilla.transport.netty;

import io.flotilla.Member;
import io.flotilla.spi.InboundHandler;
import io.flotilla.spi.PeerConnection;
import io.flotilla.wire.Frame;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;

/** An {@link InboundHandler} that records every call, for assertions; optionally reacts to frames. */
final class RecordingInbound implements InboundHandler {
    record Received(PeerConnection connection, Frame frame) { }

    @SuppressWarnings("checkstyle:fullyQualifiedName") // this record is named Disconnect too
    record Disconnect(PeerConnection connection, io.flotilla.spi.Disconnect reason) { }

    record SendFailure(Member member, Throwable cause) { }

    final Queue<PeerConnection> connected = new ConcurrentLinkedQueue<>();
    final Queue<Received> frames = new ConcurrentLinkedQueue<>();
    final Queue<Disconnect> disconnects = new ConcurrentLinkedQueue<>();
    final Queue<SendFailure> sendFailures = new ConcurrentLinkedQueue<>();
    final Queue<Member> probedBy = new ConcurrentLinkedQueue<>();
    final AtomicLong readCompletes = new AtomicLong();
    private volatile BiConsumer<PeerConnection, Frame> onFrame = (c, f) -> { };
    private volatile boolean record = true;

    /** Runs {@code action} for every frame, after recording it. */
    RecordingInbound reacting(BiConsumer<PeerConnection, Frame> action) {
        onFrame = action;
        return this;
    }

    /** Stops keeping frames and connections (for high-volume tests that only count). */
    RecordingInbound countingOnly() {
        record = false;
        return this;
    }

    final AtomicLong frameCount = new AtomicLong();

    @Override
    public void onConnected(PeerConnection connection) {
        if (record) {
            connected.add(connection);
        }
    }

    @Override
    public void onFrame(PeerConnection connection, Frame frame) {
        frameCount.incrementAndGet();
        if (record) {
            frames.add(new Received(connection, frame));
        }
        onFrame.accept(connection, frame);
    }

    @Override
    public void onReadComplete(PeerConnection connection) {
        readCompletes.incrementAndGet();
    }

    @SuppressWarnings("checkstyle:fullyQualifiedName") // this class has a record Disconnect
    @Override
    public void onDisconnected(PeerConnection connection, io.flotilla.spi.Disconnect reason) {
        if (record) {
            disconnects.add(new Disconnect(connection, reason));
        }
    }

    @Override
    public void onSendFailed(Member member, Throwable cause) {
        sendFailures.add(new SendFailure(member, cause));
    }

    @Override
    public void onProbed(Member prober) {
        probedBy.add(prober);
    }

    List<Frame> framesFrom(Member m) {
        return frames.stream().filter(r -> r.connection().remote().equals(m)).map(Received::frame).toList();
    }
}
