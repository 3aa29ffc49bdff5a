package io.flotilla.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.Member;
import io.flotilla.MemberId;
import io.flotilla.NodeConfig;
import io.flotilla.spi.PeerConnection;
import io.flotilla.testing.CapturingTransport;
import io.flotilla.testing.FixedMembership;
import io.flotilla.testing.ManualClock;
import io.flotilla.wire.Frame;
import io.flotilla.wire.FrameType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Connections with made-up identities cannot make the engine keep unbounded per-sender state, and nothing from a
 * sender outside the view reaches a listener or is acknowledged until it joins.
 */
class StreamsOutsideViewTest {
    /** A connection that records what the engine sends on it. */
    static final class RecordingConnection implements PeerConnection {
        final Member remote;
        final List<Frame> sent = new ArrayList<>();
        /** A lane the peer opened ({@link PeerConnection#lane()}). */
        boolean lane;
        boolean open = true;

        RecordingConnection(Member remote) {
            this.remote = remote;
        }

        @Override
        public Member remote() {
            return remote;
        }

        @Override
        public void send(Frame frame) {
            sent.add(frame);
        }

        @Override
        public void pauseReading() {
            // Payloads are small.
        }

        @Override
        public void resumeReading() {
            // Never paused.
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public boolean lane() {
            return lane;
        }

        long lastAck() {
            long ack = 0;
            for (Frame f : sent) {
                if (f.type() == FrameType.ACK) {
                    ack = f.messageId();
                }
            }
            return ack;
        }
    }

    private static Member member(int i) {
        return new Member(MemberId.random(), "m" + i, "127.0.0.1", 5000 + i, "", new byte[0], i);
    }

    @Test
    void sendersOutsideTheViewAreCappedAndMembersOfTheViewAlwaysServed() {
        ManualClock clock = new ManualClock();
        CapturingTransport transport = new CapturingTransport();
        FixedMembership membership = new FixedMembership();
        AtomicInteger delivered = new AtomicInteger();
        DefaultNode node = new DefaultNode(NodeConfig.builder().clusterName("t").build(), clock, clock, transport,
                membership, Runnable::run);
        node.addMessageListener(0, m -> delivered.incrementAndGet());
        node.start();
        try {
            int strangers = DefaultNode.MAX_STREAMS_OUTSIDE_VIEW + 36;
            for (int i = 0; i < strangers; i++) {
                Member m = member(i);
                transport.context.inbound().onFrame(new RecordingConnection(m), data(1));
            }
            assertEquals(0, delivered.get(), "no stranger's message reaches a listener");
            assertEquals(36.0, node.meterRegistry().find("flotilla.messages.outside.view").counter().count());
            assertEquals(DefaultNode.MAX_STREAMS_OUTSIDE_VIEW, node.meterRegistry().find("flotilla.messages.held")
                    .counter().count(), "the first 64 strangers' messages are held");
            Member joined = member(1000);
            membership.join(joined);
            transport.context.inbound().onFrame(new RecordingConnection(joined), data(1));
            assertEquals(1, delivered.get(), "a member of the view is served");
        } finally {
            node.close();
        }
    }

    private static Frame data(long seq) {
        return new Frame(FrameType.DATA, 0, 0, 1, seq, ByteBuffer.wrap(new byte[] {1}));
    }
}
